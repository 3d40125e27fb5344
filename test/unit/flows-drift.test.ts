// The --monitor-allowed chain against the real nft: a plan with it, applied in a throwaway netns, lists back
// without drift (the drift checker would otherwise rebuild the tables every check), and turning the option on
// and off is a diff the kernel takes.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelDrift, nftKernelLister } from '../../src/agent/drift/index.js';
import { compilePlan, diffPlans, fullTransaction, type Plan } from '../../src/compile/index.js';
import { createNftRunner, type NftRunner } from '../../src/nft/index.js';
import { pod, policy, selector, snapshotOf } from '../support/builders.js';
import { useThrowawayNetns } from '../support/netns.js';

const netns = useThrowawayNetns('bhf');
let runner: NftRunner;

const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.244.1.6', 'fd00:10:244:1::6'], nodeName: 'node-a' });
const snapshot = snapshotOf({ pods: [web], policies: [policy('prod/web-closed', { podSelector: selector({ app: 'web' }) })] });
const bindings = [{ namespace: 'prod', name: 'web', hostIfname: 'veth1a2b3c4d', ips: ['10.244.1.6', 'fd00:10:244:1::6'] }];
const plain = compilePlan(snapshot, { nodeName: 'node-a', bindings }).plan;
const sampled = compilePlan(snapshot, { nodeName: 'node-a', bindings, monitorAllowed: { ratePerSecond: 25 } }).plan;

async function drift(plan: Plan) {
  return kernelDrift(plan, await nftKernelLister(netns.nftPath, 10_000)(plan.tables));
}

beforeAll(() => {
  runner = createNftRunner({ logger: pino({ level: 'silent' }), nftPath: netns.nftPath });
});
afterAll(async () => {
  await runner?.close();
});

describe('the allowed sample chain in the kernel', () => {
  it('lists back without drift, and comes and goes by diff', async () => {
    netns.nft('flush', 'ruleset');
    expect(await runner.apply(fullTransaction(sampled))).toMatchObject({ ok: true });
    expect(netns.nft('list', 'chain', 'inet', 'bulkhead', 'allowed_sample')).toMatch(
      /type filter hook forward priority filter \+ 2; policy accept;\n\s*ct state new meta l4proto \{ tcp, udp, sctp \} limit rate 25\/second burst 50 packets log prefix "allowed" group 8422 queue-threshold 1\n/,
    );
    expect(await drift(sampled)).toEqual([]);
    // The kernel holding the chain is drift against the plan without it.
    expect((await drift(plain)).length).toBeGreaterThan(0);

    expect(await runner.apply(diffPlans(sampled, plain))).toMatchObject({ ok: true });
    expect(await drift(plain)).toEqual([]);
    expect(await runner.apply(diffPlans(plain, sampled))).toMatchObject({ ok: true });
    expect(await drift(sampled)).toEqual([]);
  });
});
