// --monitor-allowed in the compiler: one more forward base chain after egress and ingress that logs new
// connections to their own nflog group; absent, the plan is exactly the plan without it.
import { describe, expect, it } from 'vitest';
import { ALLOWED_LOG_GROUP, compilePlan, createCompiler, DENIED_LOG_GROUP, diffPlans, fullTransaction, parseMonitorRate } from '../../src/compile/index.js';
import { INGRESS_PRIORITY, EGRESS_PRIORITY } from '../../src/compile/policy-table.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { loadManifests, DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS } from '../../src/model/index.js';
import { fileURLToPath } from 'node:url';

const PODS = fileURLToPath(new URL('../../examples/three-tier/pods.yaml', import.meta.url));
const POLICIES = fileURLToPath(new URL('../../examples/three-tier/steps', import.meta.url));
const node = 'node1';

async function snapshot() {
  const loaded = await loadManifests([PODS, POLICIES], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
  expect(loaded.errors).toEqual([]);
  // Every pod on one node, so the plan has pod chains beside the base chains.
  return buildSnapshot({ ...loaded, pods: loaded.pods.map((pod) => ({ ...pod, nodeName: node })) });
}

describe('compile with monitorAllowed', () => {
  it('adds one base chain after egress and ingress that logs new connections to the allowed group', async () => {
    const s = await snapshot();
    const plain = compilePlan(s, { nodeName: node, bindings: [] }).plan;
    expect(Object.keys(plain.counters).length).toBeGreaterThan(0);
    const sampled = compilePlan(s, { nodeName: node, bindings: [], monitorAllowed: { ratePerSecond: 7 } }).plan;
    const policyTable = (plan: typeof plain) => plan.tables.find((table) => table.family === 'inet')!;
    const added = policyTable(sampled).chains.filter((chain) => !policyTable(plain).chains.some((other) => other.name === chain.name));
    expect(added).toHaveLength(1);
    const chain = added[0]!;
    expect(chain.hook).toEqual({ type: 'filter', hook: 'forward', prio: INGRESS_PRIORITY + 1, policy: 'accept' });
    expect(chain.hook!.prio).toBeGreaterThan(Math.max(EGRESS_PRIORITY, INGRESS_PRIORITY));
    expect(chain.rules).toEqual([
      {
        expr: [
          { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp', 'sctp'] } } },
          { limit: { rate: 7, per: 'second', burst: 14 } },
          { log: { prefix: 'allowed', group: ALLOWED_LOG_GROUP, 'queue-threshold': 1 } },
        ],
      },
    ]);
    expect(ALLOWED_LOG_GROUP).not.toBe(DENIED_LOG_GROUP);
    // Everything else is the plan without the option; the chains stay sorted by name.
    expect({ ...sampled, tables: sampled.tables.map((t) => ({ ...t, chains: t.chains.filter((c) => c !== chain) })) }).toEqual(plain);
    const names = policyTable(sampled).chains.map((c) => c.name);
    expect(names).toEqual([...names].sort());
    // Turning it on and off is a diff of that one chain.
    const on = diffPlans(plain, sampled).nftables;
    expect(on.length).toBeGreaterThan(0);
    expect(JSON.stringify(on)).toContain('allowed_sample');
    expect(JSON.stringify(diffPlans(sampled, plain).nftables)).toContain('allowed_sample');
    expect(JSON.stringify(fullTransaction(sampled))).toContain(`"group":${ALLOWED_LOG_GROUP}`);
  });

  it('the incremental compiler gives what compilePlan gives, option on and off', async () => {
    const s = await snapshot();
    const compiler = createCompiler();
    for (const monitorAllowed of [undefined, { ratePerSecond: 3 }, undefined]) {
      const options = { nodeName: node, bindings: [], ...(monitorAllowed ? { monitorAllowed } : {}) };
      expect(JSON.stringify(compiler.compile(s, options).plan)).toBe(JSON.stringify(compilePlan(s, options).plan));
    }
  });

  it('rejects a rate that is no whole positive number', async () => {
    const s = await snapshot();
    expect(() => compilePlan(s, { nodeName: 'node1', bindings: [], monitorAllowed: { ratePerSecond: 0 } })).toThrow(/ratePerSecond/);
  });

  it('parses N/second', () => {
    expect(parseMonitorRate('10/second')).toBe(10);
    expect(parseMonitorRate('1/s')).toBe(1);
    expect(parseMonitorRate('0/second')).toBeUndefined();
    expect(parseMonitorRate('10/minute')).toBeUndefined();
    expect(parseMonitorRate('ten/second')).toBeUndefined();
  });
});
