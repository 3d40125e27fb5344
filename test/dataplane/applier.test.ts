// The nft runner against the real nft, in a throwaway network namespace: atomicity, retries, first-start
// replacement, counters. The runner is pointed at a wrapper that enters the namespace, as BULKHEAD_NFT would be.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { runAgent, startAgent } from '../../src/agent/index.js';
import { compilePlan, diffPlans, fullTransaction, type NftCommand, type NftTransaction } from '../../src/compile/index.js';
import { createNftRunner, INTERACTIVE_MAX_BYTES, type NftRunner } from '../../src/nft/index.js';
import type { Snapshot } from '../../src/snapshot/snapshot.js';
import { pod, podPeer, policy, rule, selector, snapshotOf } from '../support/builders.js';
import { useThrowawayNetns, writeExecutable } from '../support/netns.js';
import { until } from '../support/until.js';

const netns = useThrowawayNetns('bha');
const silent = pino({ level: 'silent' });
const fastRetry = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

const nftInNamespace = netns.nft;
const listTable = () => nftInNamespace('-j', 'list', 'table', 'inet', 'bulkhead');
const listRuleset = () => nftInNamespace('list', 'ruleset');

async function metricValue(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
}

/**
 * A script that fails real runs number `after`+1 to `after`+`failures` (dry runs pass through), and otherwise
 * runs nft in the namespace.
 */
async function faultyNft(failures: number, after = 0): Promise<{ path: string; runs: () => Promise<number> }> {
  const dir = await mkdtemp(join(netns.dir, 'faulty-'));
  const path = join(dir, 'nft');
  const count = join(dir, 'count');
  await writeFile(count, '0');
  await writeExecutable(
    path,
    `#!/bin/sh
case " $* " in *" -c "*) exec ${netns.nftPath} "$@";; esac
n=$(($(cat ${count}) + 1)); echo $n > ${count}
if [ $n -gt ${after} ] && [ $n -le ${after + failures} ]; then echo "fault injected ($((n - ${after})) of ${failures})" >&2; exit 1; fi
exec ${netns.nftPath} "$@"
`,
  );
  return { path, runs: async () => Number(await readFile(count, 'utf8')) };
}

const T = { family: 'inet', table: 'bulkhead' } as const;
const baseTransaction: NftTransaction = {
  nftables: [
    { add: { table: { family: 'inet', name: 'bulkhead' } } },
    { add: { set: { ...T, name: 'peers_1', type: 'ipv4_addr' } } },
    { add: { element: { ...T, name: 'peers_1', elem: ['10.244.1.5', '10.244.2.7'] } } },
    { add: { counter: { ...T, name: 'drop_in_prod_web' } } },
    { add: { chain: { ...T, name: 'ing_prod_web' } } },
    {
      add: {
        rule: {
          ...T,
          chain: 'ing_prod_web',
          expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@peers_1' } }, { accept: null }],
        },
      },
    },
    { add: { rule: { ...T, chain: 'ing_prod_web', expr: [{ counter: 'drop_in_prod_web' }, { drop: null }] } } },
    { add: { chain: { ...T, name: 'ingress', type: 'filter', hook: 'forward', prio: 10, policy: 'accept' } } },
  ],
};
const replaceTable = (commands: readonly NftCommand[]): NftTransaction => ({
  nftables: [
    { add: { table: { family: 'inet', name: 'bulkhead' } } },
    { delete: { table: { family: 'inet', name: 'bulkhead' } } },
    ...commands,
  ],
});

describe.each(['interactive', 'per-transaction'] as const)('nft runner (real nft in a throwaway netns), %s', (mode) => {
  let runner: NftRunner;
  let registry: Registry;
  beforeEach(async () => {
    nftInNamespace('flush', 'ruleset');
    registry = new Registry();
    runner = createNftRunner({ logger: silent, nftPath: netns.nftPath, registry, retry: fastRetry, mode });
    return () => runner.close();
  });

  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
  };

  it('applies a full transaction, then a diff', async () => {
    expect(await runner.apply(baseTransaction)).toEqual({ ok: true, attempts: 1 });
    expect(listRuleset()).toMatch(/set peers_1 \{[^}]*elements = \{ 10\.244\.1\.5, 10\.244\.2\.7 \}/s);
    expect(listRuleset()).toMatch(/chain ingress \{\s*type filter hook forward priority filter \+ 10; policy accept;/);

    const diff: NftTransaction = {
      nftables: [
        { delete: { element: { ...T, name: 'peers_1', elem: ['10.244.1.5'] } } },
        { add: { element: { ...T, name: 'peers_1', elem: ['10.244.3.9'] } } },
      ],
    };
    expect(await runner.apply(diff)).toEqual({ ok: true, attempts: 1 });
    expect(listRuleset()).toMatch(/elements = \{ 10\.244\.2\.7, 10\.244\.3\.9 \}/);
    expect(await metric('bulkhead_nft_transactions_total', { result: 'applied' })).toBe(2);
  });

  it('leaves the ruleset byte-identical when a transaction fails, and names the failing command', async () => {
    await runner.apply(baseTransaction);
    const before = listTable();
    const failing: NftTransaction = {
      nftables: [
        { add: { element: { ...T, name: 'peers_1', elem: ['10.244.9.9'] } } },
        { add: { chain: { ...T, name: 'egr_prod_web' } } },
        { add: { rule: { ...T, chain: 'ing_prod_web', comment: 'NetworkPolicy prod/allow-db ingress[0]', expr: [{ jump: { target: 'missing' } } as never] } } },
        { add: { element: { ...T, name: 'peers_1', elem: ['10.244.9.10'] } } },
      ],
    };
    const outcome = await runner.apply(failing);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    // Reproducible in a dry run: not retried.
    expect(outcome.attempts).toBe(1);
    expect(outcome.failure.location).toEqual({ kind: 'command', index: 2 });
    expect(outcome.failure.failedCommand).toMatchObject({ verb: 'add', kind: 'rule', name: 'ing_prod_web', comment: 'NetworkPolicy prod/allow-db ingress[0]' });
    expect(outcome.failure.messages.join('\n')).toMatch(/No such file or directory/);
    expect(listTable()).toBe(before);
    expect(await metric('bulkhead_nft_transactions_total', { result: 'failed' })).toBe(1);
    expect(await metric('bulkhead_nft_retries_total')).toBe(0);
  });

  it('retries transient failures with backoff, counting each, until nft succeeds', async () => {
    const faulty = await faultyNft(2);
    registry = new Registry();
    const flaky = createNftRunner({ logger: silent, nftPath: faulty.path, registry, retry: fastRetry });
    try {
      expect(await flaky.apply(baseTransaction)).toEqual({ ok: true, attempts: 3 });
    } finally {
      await flaky.close();
    }
    expect(await faulty.runs()).toBe(3);
    expect(listRuleset()).toMatch(/chain ing_prod_web/);
    expect(await metric('bulkhead_nft_failed_attempts_total')).toBe(2);
    expect(await metric('bulkhead_nft_retries_total')).toBe(2);
    expect(await metric('bulkhead_nft_transactions_total', { result: 'applied' })).toBe(1);
  });

  it('gives up after the last attempt, with the reason, leaving the ruleset as it was', async () => {
    await runner.apply(baseTransaction);
    const before = listTable();
    const faulty = await faultyNft(10);
    registry = new Registry();
    const flaky = createNftRunner({ logger: silent, nftPath: faulty.path, registry, retry: fastRetry });
    try {
      const outcome = await flaky.apply({ nftables: [{ add: { element: { ...T, name: 'peers_1', elem: ['10.244.9.9'] } } }] });
      expect(outcome).toEqual({
        ok: false,
        attempts: 4,
        failure: { messages: ['fault injected (4 of 10)'], location: { kind: 'not-reproduced' } },
      });
    } finally {
      await flaky.close();
    }
    expect(await faulty.runs()).toBe(4);
    expect(listTable()).toBe(before);
    expect(await metric('bulkhead_nft_failed_attempts_total')).toBe(4);
    expect(await metric('bulkhead_nft_transactions_total', { result: 'failed' })).toBe(1);
  });

  it('replaces what an earlier run left, junk included, in one transaction', async () => {
    netns.nftScript('table inet bulkhead {\n set stale { type ipv4_addr; elements = { 192.0.2.1 } }\n chain junk { ip saddr 192.0.2.1 drop; }\n}\n');
    expect(await runner.apply(replaceTable(baseTransaction.nftables))).toEqual({ ok: true, attempts: 1 });
    const ruleset = listRuleset();
    expect(ruleset).not.toMatch(/stale|junk|192\.0\.2\.1/);
    expect(ruleset).toMatch(/chain ing_prod_web/);
  });

  it('reads named counters back', async () => {
    await runner.apply({
      nftables: [
        { add: { table: { family: 'inet', name: 'bulkhead' } } },
        { add: { counter: { ...T, name: 'drop_in_prod_web', packets: 5, bytes: 300 } as never } },
        { add: { counter: { ...T, name: 'drop_out_prod_web' } } },
      ],
    });
    expect(await runner.readCounters({ family: 'inet', name: 'bulkhead' })).toEqual([
      { name: 'drop_in_prod_web', packets: 5, bytes: 300 },
      { name: 'drop_out_prod_web', packets: 0, bytes: 0 },
    ]);
    await expect(runner.readCounters({ family: 'inet', name: 'absent' })).rejects.toThrow(/cannot list counters of table inet absent/);
  });
});

describe('nft runner, interactive session', () => {
  /** A wrapper that records each run (its pid, HOME and arguments), then is nft in the namespace. */
  async function recordingNft(): Promise<{ path: string; runs: () => Promise<{ pid: number; home: string; args: string }[]> }> {
    const dir = await mkdtemp(join(netns.dir, 'recording-'));
    const path = join(dir, 'nft');
    const log = join(dir, 'runs');
    await writeFile(log, '');
    // The wrapper and `ip netns exec` exec nft in place: the pid recorded is nft's own.
    await writeExecutable(path, `#!/bin/sh\necho "$$ $HOME $*" >> ${log}\nexec ${netns.nftPath} "$@"\n`);
    const runs = async () =>
      (await readFile(log, 'utf8'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [pid, home, ...args] = line.split(' ');
          return { pid: Number(pid), home: home!, args: args.join(' ') };
        });
    return { path, runs };
  }

  const element = (ip: string): NftTransaction => ({ nftables: [{ add: { element: { ...T, name: 'peers_1', elem: [ip] } } }] });

  it('sends small transactions to one nft -j -i with its own HOME, large ones to a file, and restarts it when it dies', async () => {
    nftInNamespace('flush', 'ruleset');
    const recording = await recordingNft();
    const runner = createNftRunner({ logger: silent, nftPath: recording.path, retry: fastRetry, mode: 'interactive' });
    try {
      expect(await runner.apply(baseTransaction)).toEqual({ ok: true, attempts: 1 });
      expect(await runner.apply(element('10.244.9.1'))).toEqual({ ok: true, attempts: 1 });
      expect(await runner.apply(element('10.244.9.2'))).toEqual({ ok: true, attempts: 1 });
      const many = Array.from({ length: 6_000 }, (_, i) => `10.245.${i >> 8}.${i & 255}`);
      const large: NftTransaction = { nftables: [{ add: { element: { ...T, name: 'peers_1', elem: many } } }] };
      expect(JSON.stringify(large).length).toBeGreaterThan(INTERACTIVE_MAX_BYTES);
      expect(await runner.apply(large)).toEqual({ ok: true, attempts: 1 });
      let runs = await recording.runs();
      expect(runs.map((r) => r.args.replace(/\/\S+\.json$/, '/FILE'))).toEqual(['-j -i', '-j -f /FILE']);
      expect(runs[0]!.home).not.toBe(process.env['HOME']);
      expect(listRuleset()).toMatch(/10\.244\.9\.1, 10\.244\.9\.2/);

      process.kill(runs[0]!.pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await runner.apply(element('10.244.9.3'))).toEqual({ ok: true, attempts: 1 });
      runs = await recording.runs();
      expect(runs.map((r) => r.args)).toEqual(['-j -i', expect.stringMatching(/^-j -f /), '-j -i']);
      expect(listRuleset()).toMatch(/10\.244\.9\.3/);
    } finally {
      await runner.close();
    }
  });

  it('tells a failing transaction from the next one: the failure is located, the next line applies', async () => {
    nftInNamespace('flush', 'ruleset');
    const runner = createNftRunner({ logger: silent, nftPath: netns.nftPath, retry: fastRetry, mode: 'interactive' });
    try {
      await runner.apply(baseTransaction);
      const before = listTable();
      const failing: NftTransaction = {
        nftables: [{ add: { element: { ...T, name: 'peers_1', elem: ['10.244.9.9'] } } }, { add: { element: { ...T, name: 'absent', elem: ['10.244.9.9'] } } }],
      };
      const outcome = await runner.apply(failing);
      expect(outcome).toMatchObject({ ok: false, attempts: 1, failure: { location: { kind: 'command', index: 1 }, failedCommand: { kind: 'element', name: 'absent' } } });
      expect(listTable()).toBe(before);
      expect(await runner.apply(element('10.244.9.4'))).toEqual({ ok: true, attempts: 1 });
      expect(listRuleset()).toMatch(/10\.244\.9\.4/);
    } finally {
      await runner.close();
    }
  });
});

describe('compiled plans (real nft in a throwaway netns)', () => {
  const db = pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.6', 'fd00:10:244:1::6'], nodeName: 'node-a' });
  const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.244.2.5'], nodeName: 'node-b' });
  const allowDb = policy('prod/allow-db', { podSelector: selector({ app: 'db' }), ingress: [rule([podPeer({ podSelector: selector({ app: 'web' }) })])] });
  const bindings = [{ namespace: 'prod', name: 'db', hostIfname: 'veth1a2b3c4d', ips: ['10.244.1.6', 'fd00:10:244:1::6'] }];
  const compile = (snapshot: Snapshot) => compilePlan(snapshot, { nodeName: 'node-a', bindings }).plan;
  const before = compile(snapshotOf({ pods: [db, web], policies: [allowDb] }));
  const web2 = pod('prod/web-2', { labels: { app: 'web' }, ips: ['10.244.3.7'], nodeName: 'node-c' });
  const after = compile(snapshotOf({ pods: [db, web2], policies: [allowDb] }));

  let runner: NftRunner;
  beforeEach(() => {
    nftInNamespace('flush', 'ruleset');
    runner = createNftRunner({ logger: silent, nftPath: netns.nftPath, retry: fastRetry });
    return () => runner.close();
  });

  it('applies a diff that leaves the same ruleset as applying the new plan whole', async () => {
    expect(await runner.apply(fullTransaction(before))).toEqual({ ok: true, attempts: 1 });
    expect(await runner.apply(diffPlans(before, after))).toEqual({ ok: true, attempts: 1 });
    const viaDiff = netns.rulesetData();
    expect(JSON.stringify(viaDiff)).toContain('10.244.3.7');
    expect(JSON.stringify(viaDiff)).not.toContain('10.244.2.5');

    nftInNamespace('flush', 'ruleset');
    expect(await runner.apply(fullTransaction(after))).toEqual({ ok: true, attempts: 1 });
    expect(netns.rulesetData()).toEqual(viaDiff);
  });

  it('replaces both tables an earlier run left, junk included, in one transaction', async () => {
    netns.nftScript(
      [
        'table inet bulkhead {',
        '  set stale { type ipv4_addr; elements = { 192.0.2.1 }; }',
        '  chain junk { ip saddr 192.0.2.1 drop; }',
        '}',
        'table bridge bulkhead {',
        '  chain junk { type filter hook prerouting priority 0; policy drop; }',
        '}',
        'table inet other {',
        '  chain keep { }',
        '}',
        '',
      ].join('\n'),
    );
    expect(await runner.apply(fullTransaction(before))).toEqual({ ok: true, attempts: 1 });
    const ruleset = listRuleset();
    expect(ruleset).not.toMatch(/stale|junk|192\.0\.2\.1/);
    expect(ruleset).toMatch(/chain pod_in_prod_db/);
    // Nothing but Bulkhead's own tables is touched.
    expect(ruleset).toMatch(/table inet other \{\s*chain keep/);
  });

  it('reads the drop counters of a compiled plan', async () => {
    await runner.apply(fullTransaction(before));
    const readings = await runner.readCounters({ family: 'inet', name: 'bulkhead' });
    expect(readings.map((r) => [before.counters[r.name], r.packets])).toEqual([[{ namespace: 'prod', pod: 'db', direction: 'ingress' }, 0]]);
  });
});

describe('agent (real nft in a throwaway netns)', () => {
  const manifests = (extraPod = '') => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-db, namespace: prod }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress:
  - from: [{ podSelector: { matchLabels: { app: web } } }]
---
apiVersion: v1
kind: Pod
metadata: { name: db, namespace: prod, labels: { app: db } }
spec: { nodeName: node-a, containers: [{ name: db, image: postgres }] }
status: { podIPs: [{ ip: 10.244.1.6 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: prod, labels: { app: web } }
spec: { nodeName: node-b, containers: [{ name: web, image: nginx }] }
status: { podIPs: [{ ip: 10.244.2.5 }] }
${extraPod}`;
  const web2 = `---
apiVersion: v1
kind: Pod
metadata: { name: web-2, namespace: prod, labels: { app: web } }
spec: { nodeName: node-c, containers: [{ name: web, image: nginx }] }
status: { podIPs: [{ ip: 10.244.3.7 }] }
`;
  const cniResult = JSON.stringify({
    kind: 'cniCacheV1',
    containerId: 'a1b2c3d4e5f6',
    ifName: 'eth0',
    networkName: 'cbr0',
    cniArgs: [['K8S_POD_NAMESPACE', 'prod'], ['K8S_POD_NAME', 'db']],
    result: {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'cni0' }, { name: 'veth1a2b3c4d' }, { name: 'eth0', sandbox: '/var/run/netns/cni-a1b2' }],
      ips: [{ version: '4', interface: 2, address: '10.244.1.6/24', gateway: '10.244.1.1' }],
    },
  });

  async function clusterFiles(): Promise<{ manifestsDir: string; cniResultsDir: string }> {
    const dir = await mkdtemp(join(netns.dir, 'agent-'));
    const manifestsDir = join(dir, 'manifests');
    const cniResultsDir = join(dir, 'cni');
    await mkdir(manifestsDir);
    await mkdir(cniResultsDir);
    await writeFile(join(manifestsDir, 'cluster.yaml'), manifests());
    await writeFile(join(cniResultsDir, 'cbr0-a1b2c3d4e5f6-eth0'), cniResult);
    return { manifestsDir, cniResultsDir };
  }

  // Rescans are a minute apart here: every change below must be seen by watching the directories.
  it('replaces what it finds at start, follows manifest changes, keeps the last good file, and leaves its rules on stop', async () => {
    nftInNamespace('flush', 'ruleset');
    netns.nftScript('table inet bulkhead {\n  chain junk { }\n}\n');
    const { manifestsDir, cniResultsDir } = await clusterFiles();

    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const agent = await startAgent({ nodeName: 'node-a', source: { kind: 'manifests', directory: manifestsDir }, cniResultsDir, nftPath: netns.nftPath, debounceMs: 20, rescanIntervalMs: 60_000, logger });
    try {
      await until('the first transaction', () => agent.status().appliedTransactions === 1);
      let ruleset = listRuleset();
      expect(ruleset).not.toMatch(/junk/);
      expect(ruleset).toMatch(/chain pod_in_prod_db/);
      expect(ruleset).toMatch(/"veth1a2b3c4d" \. 10\.244\.1\.6/);
      expect(await agent.dropCounts()).toEqual([{ namespace: 'prod', pod: 'db', direction: 'ingress', packets: 0, bytes: 0 }]);

      await writeFile(join(manifestsDir, 'cluster.yaml'), manifests(web2));
      await until('the transaction adding web-2', () => agent.status().appliedTransactions === 2);
      ruleset = listRuleset();
      expect(ruleset).toMatch(/10\.244\.3\.7/);

      // The pod's sandbox is recreated: a newer CNI result with another veth replaces the binding.
      await writeFile(join(cniResultsDir, 'cbr0-f6e5d4c3b2a1-eth0'), cniResult.replaceAll('a1b2c3d4e5f6', 'f6e5d4c3b2a1').replace('veth1a2b3c4d', 'veth99887766'));
      await until('the transaction rebinding db', () => agent.status().appliedTransactions === 3);
      ruleset = listRuleset();
      expect(ruleset).toMatch(/"veth99887766" \. 10\.244\.1\.6/);
      expect(ruleset).not.toMatch(/veth1a2b3c4d/);

      // A typo must not drop the policy: the last good text stays, nothing is applied.
      const applied = listTable();
      await writeFile(join(manifestsDir, 'cluster.yaml'), manifests(web2).replace('ingress:', 'ingress: [\n'));
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(agent.status()).toMatchObject({ appliedTransactions: 3, failedSyncs: 0 });
      expect(listTable()).toBe(applied);
      expect(logs.filter((line) => line['level'] === 50)).toEqual([
        expect.objectContaining({
          object: `file ${join(manifestsDir, 'cluster.yaml')}`,
          msg: 'manifest file does not load; its last good content stays in force',
          errors: expect.arrayContaining([expect.stringMatching(/YAML syntax error/)]),
        }),
      ]);
      expect(logs.filter((line) => line['msg'] === 'rules applied').map((line) => line['replacedTables'])).toEqual([true, false, false]);
    } finally {
      await agent.stop();
    }
    expect(listRuleset()).toMatch(/chain pod_in_prod_db/);
  });

  it('keeps the applied rules while nft keeps failing, and then rebuilds the tables rather than trust a diff', async () => {
    nftInNamespace('flush', 'ruleset');
    const { manifestsDir, cniResultsDir } = await clusterFiles();
    // Run 1 (the first sync) works; runs 2-5 (the runner's 4 attempts at the next) fail; run 6 is the agent's
    // retry after its backoff.
    const faulty = await faultyNft(4, 1);
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const agent = await startAgent({ nodeName: 'node-a', source: { kind: 'manifests', directory: manifestsDir }, cniResultsDir, nftPath: faulty.path, debounceMs: 20, logger });
    try {
      await until('the first sync', () => agent.status().appliedTransactions === 1);
      const applied = listTable();
      await writeFile(join(manifestsDir, 'cluster.yaml'), manifests(web2));
      await until('the failed sync', () => agent.status().failedSyncs === 1);
      expect(listTable()).toBe(applied);
      expect(agent.status()).toMatchObject({ appliedTransactions: 1, consecutiveFailures: 1, exact: false });
      await until('the sync after the backoff', () => agent.status().appliedTransactions === 2, 15_000);
    } finally {
      await agent.stop();
    }
    expect(await faulty.runs()).toBe(6);
    expect(listRuleset()).toMatch(/10\.244\.3\.7/);
    expect(logs.filter((line) => line['msg'] === 'nft transaction failed; retrying')).toHaveLength(3);
    expect(logs.find((line) => line['level'] === 50 && String(line['msg']).startsWith('rules not applied'))).toMatchObject({
      errors: ['fault injected (4 of 4)'],
      retryInMs: expect.any(Number),
    });
    expect(logs.filter((line) => line['msg'] === 'rules applied').map((line) => line['replacedTables'])).toEqual([true, true]);
    expect(await metricValue(agent.registry, 'bulkhead_nft_failed_attempts_total')).toBe(4);
  });

  it('runs until SIGTERM and leaves its rules in the kernel', async () => {
    nftInNamespace('flush', 'ruleset');
    const { manifestsDir, cniResultsDir } = await clusterFiles();
    const running = runAgent({ nodeName: 'node-a', source: { kind: 'manifests', directory: manifestsDir }, cniResultsDir, nftPath: netns.nftPath, debounceMs: 20, logger: silent });
    await until('the first transaction', () => /chain pod_in_prod_db/.test(listRuleset()));
    process.emit('SIGTERM');
    await running;
    expect(listRuleset()).toMatch(/chain pod_in_prod_db/);
  });
});
