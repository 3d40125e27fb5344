// /monitor over a real socket: chunked JSON lines, the kept records first when asked, then live ones, filters,
// parameter errors, a slow reader's queue bounded, and the stream ended when the hub closes (the agent stops).
import { request } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { type AgentHttpServer, startAgentHttpServer } from '../../src/agent/http/index.js';
import type { ServedAgent } from '../../src/agent/http/served-agent.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type MonitorHub, monitorQuery } from '../../src/agent/monitor/index.js';
import { snapshotOf } from '../support/builders.js';

const snapshot = snapshotOf({ pods: [] });
const agent: ServedAgent = {
  registry: new Registry(),
  status: () => ({ ready: true }),
  view: () => ({ snapshot, plan: { tables: [], counters: {} } }),
  dropCounts: () => Promise.resolve([]),
};
const logger = pino({ level: 'silent' });
const T0 = Date.parse('2026-11-23T23:00:00Z');

function record(i: number, overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    time: new Date(T0 + i * 1000).toISOString(),
    node: 'node-a',
    direction: 'ingress',
    from: 'demo/client',
    to: 'demo/web',
    port: 1000 + i,
    protocol: 'TCP',
    verdict: 'dropped',
    policies: ['demo/web-closed'],
    ...overrides,
  };
}

let server: AgentHttpServer | undefined;
let hub: MonitorHub;
let drops: Record<string, number> = {};
afterEach(async () => {
  hub.close();
  await server?.close();
  server = undefined;
});

async function serve(limits = {}): Promise<string> {
  drops = {};
  hub = createMonitorHub({ ...DEFAULT_HUB_LIMITS, ...limits }, (reason, count) => {
    drops[reason] = (drops[reason] ?? 0) + count;
  });
  server = await startAgentHttpServer(agent, { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger, monitor: hub });
  return server.url;
}

/** Reads JSON lines of a stream until `count` arrived. */
async function readLines(body: ReadableStream<Uint8Array>, count: number): Promise<FlowRecord[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n').length - 1 < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as FlowRecord);
}

describe('/monitor', () => {
  it('streams the kept records, then live ones, one JSON line each, filtered by pod and verdict', async () => {
    const url = await serve();
    hub.publish(record(1), T0);
    hub.publish(record(2, { to: 'demo/db' }), T0);
    const response = await fetch(`${url}/monitor?pod=demo/web&verdict=dropped&recent=1`);
    expect([response.status, response.headers.get('content-type'), response.headers.get('transfer-encoding')]).toEqual([200, 'application/x-ndjson; charset=utf-8', 'chunked']);
    const first = await readLines(response.body!, 1);
    expect(first.map((r) => r.port)).toEqual([1001]);
    hub.publish(record(3, { verdict: 'audit' }), T0);
    hub.publish(record(4, { from: 'demo/web', to: '10.0.0.9', direction: 'egress' }), T0);
    expect((await readLines(response.body!, 1))).toEqual([record(4, { from: 'demo/web', to: '10.0.0.9', direction: 'egress' })]);
    await response.body!.cancel();
  });

  it('without recent= or since=, starts with live records only; since= keeps what is at or after it', async () => {
    const url = await serve();
    hub.publish(record(1), T0);
    hub.publish(record(5), T0);
    const since = await fetch(`${url}/monitor?since=${new Date(T0 + 3000).toISOString()}`);
    expect((await readLines(since.body!, 1)).map((r) => r.port)).toEqual([1005]);
    await since.body!.cancel();
    const live = await fetch(`${url}/monitor`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    hub.publish(record(6), T0);
    expect((await readLines(live.body!, 1)).map((r) => r.port)).toEqual([1006]);
    await live.body!.cancel();
  });

  it('answers 400 naming a bad parameter, 405 to other methods, 503 past the reader cap', async () => {
    const url = await serve({ maxSubscribers: 1 });
    for (const [query, message] of [
      ['verdict=denied', 'verdict=denied: expected dropped, allowed, audit'],
      ['pod=web', 'pod=web: expected NAMESPACE/NAME'],
      ['since=yesterday', 'since=yesterday: expected an ISO-8601 time (2026-01-31T12:00:00Z)'],
      ['node=a', 'unknown parameter node: expected pod=NAMESPACE/NAME, verdict=dropped|allowed|audit, recent=1 or since=ISO-8601 time (all optional)'],
    ] as const) {
      const reply = await fetch(`${url}/monitor?${query}`);
      expect([reply.status, await reply.json()], query).toEqual([400, { error: message }]);
    }
    expect((await fetch(`${url}/monitor`, { method: 'POST' })).status).toBe(405);
    const first = await fetch(`${url}/monitor`);
    const second = await fetch(`${url}/monitor`);
    expect([second.status, await second.json()]).toEqual([503, { error: 'too many readers of the verdict stream (1); try again later' }]);
    await first.body!.cancel();
  });

  it('ends the stream when the hub closes, so the server closes', async () => {
    const url = await serve();
    const response = await fetch(`${url}/monitor`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    hub.close();
    expect(await response.text()).toBe('');
    await server!.close();
    server = undefined;
  });

  it('keeps a reader that does not read to its queue bound, and forgets it when it leaves', async () => {
    const url = await serve({ queue: 50, ratePerSecond: 1e9, burst: 1e9 });
    const paused = await new Promise<import('node:http').IncomingMessage>((resolve) => request(`${url}/monitor`, resolve).end());
    paused.pause();
    const big = 'x'.repeat(2_000);
    for (let i = 0; i < 20_000; i++) hub.publish(record(i % 1000, { node: big }), T0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 2_000; i++) hub.publish(record(i % 1000, { node: big }), T0);
    expect(hub.subscribers).toBe(1);
    // 44 MB published; what the socket's buffers took aside, the queue kept 50 records and counted the rest.
    expect(drops['slow-subscriber']).toBeGreaterThan(10_000);
    paused.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hub.subscribers).toBe(0);
  });
});

describe('monitorQuery', () => {
  it('reads filters and where to begin', () => {
    expect(monitorQuery(new URLSearchParams(''))).toEqual({ filter: {} });
    expect(monitorQuery(new URLSearchParams('pod=a/b&verdict=audit&recent=1'))).toEqual({ filter: { pod: 'a/b', verdict: 'audit' }, recentSinceMs: 0 });
    expect(monitorQuery(new URLSearchParams('since=2026-11-23T23:00:00Z'))).toEqual({ filter: {}, recentSinceMs: T0 });
    expect(monitorQuery(new URLSearchParams('recent=1&recent=1'))).toBe('parameter recent given twice');
  });
});
