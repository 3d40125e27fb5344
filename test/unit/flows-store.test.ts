// The flow store: distinct allowed flows with first/last seen and counts, bounded (least recently seen leaves,
// counted), queried by namespace and time; /flows' parameters; and the route that serves it.
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { readFlowLines } from '../../src/advise/flow-record.js';
import { createFlowStore, flowsQuery } from '../../src/agent/flows/index.js';
import { answer, FLOWS_DISABLED, type RouteContext } from '../../src/agent/http/routes.js';
import { Registry } from 'prom-client';
import { snapshotOf } from '../support/builders.js';

const T0 = Date.parse('2026-11-23T20:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();

function record(from: string, to: string, port: number, timeMs: number, extra: Partial<FlowRecord> = {}): FlowRecord {
  return { time: at(timeMs), node: 'node1', direction: 'egress', from, to, port, protocol: 'TCP', verdict: 'allowed', policies: [], ...extra };
}

describe('flow store', () => {
  it('keeps each flow once, with first and last seen and how often, time = last seen', () => {
    const store = createFlowStore(10);
    store.add(record('default/frontend', 'default/backend', 80, T0 + 5_000));
    store.add(record('default/frontend', 'default/backend', 80, T0));
    store.add(record('default/frontend', 'default/backend', 80, T0 + 9_000));
    store.add(record('default/backend', 'default/database', 3306, T0 + 1_000));
    expect(store.size).toBe(2);
    const [web] = store.entries().filter((flow) => flow.record.port === 80);
    expect(web).toEqual({ record: record('default/frontend', 'default/backend', 80, T0 + 9_000), firstSeenMs: T0, lastSeenMs: T0 + 9_000, count: 3 });
    // A record older than the last one seen does not move last seen back.
    store.add(record('default/frontend', 'default/backend', 80, T0 + 2_000));
    expect(store.flows({}).find((r) => r.port === 80)!.time).toBe(at(T0 + 9_000));
  });

  it('tells flows apart by direction, ends, port and protocol; ignores what was not allowed', () => {
    const store = createFlowStore(10);
    const base = record('a/x', 'b/y', 53, T0);
    for (const changed of [base, { ...base, direction: 'ingress' as const }, { ...base, from: 'a/z' }, { ...base, to: '10.0.0.1' }, { ...base, port: 54 }, { ...base, protocol: 'UDP' as const }]) store.add(changed);
    store.add({ ...base, verdict: 'dropped' });
    store.add({ ...base, to: 'b/q', verdict: 'audit' });
    expect(store.size).toBe(6);
  });

  it('evicts the least recently seen flow past its bound, and counts it', () => {
    let evictions = 0;
    const store = createFlowStore(3, () => evictions++);
    store.add(record('ns/a', 'ns/x', 1, T0));
    store.add(record('ns/b', 'ns/x', 1, T0 + 1));
    store.add(record('ns/c', 'ns/x', 1, T0 + 2));
    // a seen again: b is now the least recent.
    store.add(record('ns/a', 'ns/x', 1, T0 + 3));
    store.add(record('ns/d', 'ns/x', 1, T0 + 4));
    expect(store.flows({}).map((r) => r.from)).toEqual(['ns/c', 'ns/a', 'ns/d']);
    expect(store.evicted).toBe(1);
    expect(evictions).toBe(1);
    for (let i = 0; i < 100; i++) store.add(record(`ns/p${i}`, 'ns/x', 1, T0 + 10 + i));
    expect(store.size).toBe(3);
    expect(store.evicted).toBe(101);
    expect(() => createFlowStore(0)).toThrow(/maxFlows/);
  });

  it('answers by namespace (either end) and by last seen', () => {
    const store = createFlowStore(10);
    store.add(record('prod/api', 'db/pg', 5432, T0));
    store.add(record('10.1.2.3', 'prod/api', 443, T0 + 60_000, { direction: 'ingress' }));
    store.add(record('dev/api', '10.9.9.9', 443, T0 + 120_000));
    expect(store.flows({ namespace: 'prod' }).map((r) => r.port)).toEqual([5432, 443]);
    expect(store.flows({ namespace: 'db' }).map((r) => r.to)).toEqual(['db/pg']);
    expect(store.flows({ namespace: 'pro' })).toEqual([]);
    expect(store.flows({ sinceMs: T0 + 60_000 }).map((r) => r.from)).toEqual(['10.1.2.3', 'dev/api']);
    expect(store.flows({ namespace: 'prod', sinceMs: T0 + 1 }).map((r) => r.from)).toEqual(['10.1.2.3']);
  });
});

describe('/flows parameters', () => {
  const now = T0 + 3_600_000;
  it('takes namespace and since (a duration back from now)', () => {
    expect(flowsQuery(new URLSearchParams(''), now)).toEqual({});
    expect(flowsQuery(new URLSearchParams('namespace=prod&since=1h'), now)).toEqual({ namespace: 'prod', sinceMs: T0 });
    expect(flowsQuery(new URLSearchParams('since=90s'), now)).toEqual({ sinceMs: now - 90_000 });
  });
  it('says what is wrong', () => {
    expect(flowsQuery(new URLSearchParams('since=yesterday'), now)).toMatch(/^since=yesterday: expected a duration/);
    expect(flowsQuery(new URLSearchParams('namespace=Prod'), now)).toMatch(/^namespace=Prod: expected a namespace name/);
    expect(flowsQuery(new URLSearchParams('pod=a/b'), now)).toMatch(/^unknown parameter pod/);
    expect(flowsQuery(new URLSearchParams('since=1h&since=2h'), now)).toBe('parameter since given twice');
  });
});

describe('GET /flows', () => {
  const context = (flows?: ReturnType<typeof createFlowStore>): RouteContext => ({
    agent: { registry: new Registry(), status: () => ({ ready: true }), view: () => ({ snapshot: snapshotOf({}), plan: { tables: [], counters: {} } }), dropCounts: async () => [] },
    nodeName: 'node1',
    explain: true,
    readChain: async () => ({ exists: false }) as never,
    ...(flows ? { flows } : {}),
  });

  it('serves the store as flow records, one JSON line each, that the advisor reads back', async () => {
    const store = createFlowStore(10);
    const recent = record('prod/api', 'db/pg', 5432, Date.now() - 1_000);
    store.add(record('prod/old', 'db/pg', 5432, Date.now() - 7_200_000));
    store.add(recent);
    store.add(record('dev/api', 'db/pg', 5432, Date.now() - 1_000));
    const reply = await answer('GET', '/flows?namespace=prod&since=1h', context(store));
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/x-ndjson/);
    expect(readFlowLines(reply.body)).toEqual({ ok: true, records: [recent] });
  });

  it('answers 400 for bad parameters and 404 when the agent keeps no flows', async () => {
    const bad = await answer('GET', '/flows?since=soon', context(createFlowStore(1)));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/since=soon/);
    const none = await answer('GET', '/flows', context());
    expect(none.status).toBe(404);
    expect(JSON.parse(none.body)).toEqual({ error: FLOWS_DISABLED });
  });
});
