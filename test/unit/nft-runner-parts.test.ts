import { describe, expect, it } from 'vitest';
import type { NftCommand } from '../../src/compile/index.js';
import { backoffDelay } from '../../src/nft/backoff.js';
import { parseCounterListing } from '../../src/nft/counters.js';
import { commandTarget, describeTarget } from '../../src/nft/describe.js';
import { parseNftErrors } from '../../src/nft/errors.js';
import { locateFailure } from '../../src/nft/locate.js';
import { resolveNftPath } from '../../src/nft/process.js';

describe('parseNftErrors', () => {
  it('keeps the messages of every Error line, without the useless JSON location', () => {
    const stderr = [
      'internal:0:0-0: Error: Could not process rule: No such file or directory',
      '',
      'internal:0:0-0: Error: Could not process rule: No such file or directory',
      '',
    ].join('\n');
    expect(parseNftErrors(stderr)).toEqual([
      'Could not process rule: No such file or directory',
      'Could not process rule: No such file or directory',
    ]);
  });

  it('reads errors located in a file, and drops the quoted input and carets under them', () => {
    const stderr = '/tmp/t.json:1:1-7: Error: syntax error, unexpected junk\njunk {}\n^^^^^^^\n';
    expect(parseNftErrors(stderr)).toEqual(['syntax error, unexpected junk']);
  });

  it('keeps output that has no Error line whole, and never returns no reason', () => {
    expect(parseNftErrors('fault injected (1 of 2)\n')).toEqual(['fault injected (1 of 2)']);
    expect(parseNftErrors('')).toEqual(['nft failed without a message']);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 2_000 };

  it('doubles from the initial delay, jittered within the upper half', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, 0.999999))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds the cap, however many failures', () => {
    expect(backoffDelay(6, policy, 0.999999)).toBe(2_000);
    expect(backoffDelay(1_000, policy, 0.999999)).toBe(2_000);
    expect(backoffDelay(1_000, policy, 0)).toBe(1_000);
  });
});

describe('locateFailure', () => {
  /** A dry run that fails once the prefix includes the command at `firstBad`; records the lengths it was asked. */
  const dryRuns = (firstBad: number | undefined) => {
    const asked: number[] = [];
    const fails = async (length: number) => {
      asked.push(length);
      return firstBad !== undefined && length > firstBad;
    };
    return { asked, fails };
  };

  it.each([0, 1, 6, 7, 99])('finds command %i of 100 in a few dry runs', async (firstBad) => {
    const { asked, fails } = dryRuns(firstBad);
    expect(await locateFailure(100, fails)).toEqual({ kind: 'command', index: firstBad });
    expect(asked.length).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(100)));
  });

  it('reports a failure the dry run does not reproduce after one dry run of the whole', async () => {
    const { asked, fails } = dryRuns(undefined);
    expect(await locateFailure(100, fails)).toEqual({ kind: 'not-reproduced' });
    expect(asked).toEqual([100]);
  });

  it('does not run anything for an empty transaction', async () => {
    const { asked, fails } = dryRuns(0);
    expect(await locateFailure(0, fails)).toEqual({ kind: 'not-reproduced' });
    expect(asked).toEqual([]);
  });
});

describe('commandTarget and describeTarget', () => {
  const scope = { family: 'inet', table: 'bulkhead' } as const;
  it.each<[NftCommand, string]>([
    [{ add: { table: { family: 'inet', name: 'bulkhead' } } }, 'add table inet bulkhead'],
    [{ delete: { table: { family: 'bridge', name: 'bulkhead' } } }, 'delete table bridge bulkhead'],
    [{ add: { chain: { ...scope, name: 'ing_prod_web' } } }, 'add chain inet bulkhead ing_prod_web'],
    [
      { add: { rule: { ...scope, chain: 'ing_prod_web', expr: [{ drop: null }], comment: 'NetworkPolicy prod/allow-db ingress[0]' } } },
      'add rule inet bulkhead ing_prod_web ("NetworkPolicy prod/allow-db ingress[0]")',
    ],
    [{ flush: { chain: { ...scope, name: 'ing_prod_web' } } }, 'flush chain inet bulkhead ing_prod_web'],
    [{ add: { set: { ...scope, name: 'peers_1', type: 'ipv4_addr' } } }, 'add set inet bulkhead peers_1'],
    [{ add: { map: { ...scope, name: 'ingress_pods', type: 'ipv4_addr', map: 'verdict' } } }, 'add map inet bulkhead ingress_pods'],
    [{ add: { counter: { ...scope, name: 'drop_in_prod_web' } } }, 'add counter inet bulkhead drop_in_prod_web'],
    [{ delete: { element: { ...scope, name: 'peers_1', elem: ['10.244.1.5'] } } }, 'delete element inet bulkhead peers_1'],
  ])('names %j', (command, text) => {
    expect(describeTarget(commandTarget(command))).toBe(text);
  });
});

describe('parseCounterListing', () => {
  it('reads the named counters of nft -j list counters, skipping metainfo', () => {
    const listing = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
        { counter: { family: 'inet', name: 'drop_in_prod_web', table: 'bulkhead', handle: 3, packets: 7, bytes: 420 } },
        { counter: { family: 'inet', name: 'drop_out_prod_web', table: 'bulkhead', handle: 4, packets: 0, bytes: 0 } },
      ],
    });
    expect(parseCounterListing(listing)).toEqual([
      { name: 'drop_in_prod_web', packets: 7, bytes: 420 },
      { name: 'drop_out_prod_web', packets: 0, bytes: 0 },
    ]);
  });

  it('rejects a listing that is not one', () => {
    expect(() => parseCounterListing('{}')).toThrow(/no "nftables" array/);
    expect(() => parseCounterListing('{"nftables":[{"counter":{"name":"x"}}]}')).toThrow(/malformed counter/);
  });
});

describe('resolveNftPath', () => {
  it('takes the option, else $BULKHEAD_NFT, else nft on PATH', () => {
    const saved = process.env['BULKHEAD_NFT'];
    try {
      process.env['BULKHEAD_NFT'] = '/opt/faulty/nft';
      expect(resolveNftPath('/usr/sbin/nft')).toBe('/usr/sbin/nft');
      expect(resolveNftPath()).toBe('/opt/faulty/nft');
      delete process.env['BULKHEAD_NFT'];
      expect(resolveNftPath()).toBe('nft');
    } finally {
      if (saved === undefined) delete process.env['BULKHEAD_NFT'];
      else process.env['BULKHEAD_NFT'] = saved;
    }
  });
});
