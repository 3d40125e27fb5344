// `bulkhead monitor` against an agent endpoint serving a hub: records printed as they come (text and JSON),
// the agent's refusals and a stream's end as one-line errors, flags turned into the query.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { type AgentHttpServer, startAgentHttpServer } from '../../src/agent/http/index.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type MonitorHub } from '../../src/agent/monitor/index.js';
import { AgentRequestError } from '../../src/cli/agent-client.js';
import { UsageError } from '../../src/cli/args.js';
import { followMonitor, monitorUrl, renderFlowRecord } from '../../src/cli/monitor.js';
import { snapshotOf } from '../support/builders.js';

const record: FlowRecord = {
  time: '2026-11-23T23:12:52.481Z',
  node: 'node-a',
  direction: 'ingress',
  from: 'demo/client',
  to: 'demo/web',
  port: 80,
  protocol: 'TCP',
  verdict: 'dropped',
  policies: ['demo/web-closed', 'demo/web-from-admin'],
};

describe('bulkhead monitor: rendering and query', () => {
  it('prints one line per record, naming the isolating policies', () => {
    expect(renderFlowRecord(record)).toBe('2026-11-23T23:12:52.481Z node-a ingress demo/client -> demo/web 80/TCP DROPPED by demo/web-closed, demo/web-from-admin');
    expect(renderFlowRecord({ ...record, direction: 'egress', from: 'demo/web', to: '10.0.0.9', protocol: 'UDP', port: 53, policies: [] })).toBe(
      '2026-11-23T23:12:52.481Z node-a egress demo/web -> 10.0.0.9 53/UDP DROPPED',
    );
  });

  it('turns flags into /monitor parameters', () => {
    expect(monitorUrl('http://10.0.0.1:9650', {}).href).toBe('http://10.0.0.1:9650/monitor');
    expect(monitorUrl('http://[fd00::1]:9650/', { pod: 'demo/web', verdict: 'audit', recent: true }).href).toBe(
      'http://[fd00::1]:9650/monitor?pod=demo%2Fweb&verdict=audit&recent=1',
    );
    expect(() => monitorUrl('http://a:1', { pod: 'web' })).toThrow(UsageError);
    expect(() => monitorUrl('not a url', {})).toThrow(AgentRequestError);
  });
});

describe('bulkhead monitor: following an agent', () => {
  let server: AgentHttpServer | undefined;
  let hub: MonitorHub;
  afterEach(async () => {
    hub.close();
    await server?.close();
    server = undefined;
  });

  async function serve(): Promise<string> {
    hub = createMonitorHub(DEFAULT_HUB_LIMITS, () => undefined);
    const snapshot = snapshotOf({ pods: [] });
    server = await startAgentHttpServer(
      { registry: new Registry(), status: () => ({ ready: true }), view: () => ({ snapshot, plan: { tables: [], counters: {} } }), dropCounts: () => Promise.resolve([]) },
      { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger: pino({ level: 'silent' }), monitor: hub },
    );
    return server.url;
  }

  it('hands over the recent and live records, then fails with one line when the agent ends the stream', async () => {
    const url = await serve();
    hub.publish(record, Date.now());
    const seen: FlowRecord[] = [];
    const following = followMonitor(monitorUrl(url, { recent: true, pod: 'demo/web' }), (r) => {
      seen.push(r);
      if (seen.length === 1) hub.publish({ ...record, port: 81 }, Date.now());
      if (seen.length === 2) hub.close();
    });
    await expect(following).rejects.toThrow(`the agent at ${url} ended the stream (it stopped, or restarts)`);
    expect(seen.map((r) => r.port)).toEqual([80, 81]);
  });

  it("says what the agent answered when it refuses, and when it cannot be reached", async () => {
    const url = await serve();
    await expect(followMonitor(new URL(`${url}/monitor?verdict=nope`), () => undefined)).rejects.toThrow(
      `the agent at ${url} answered 400: verdict=nope: expected dropped, allowed, audit`,
    );
    const closed = server!.port;
    hub.close();
    await server!.close();
    server = undefined;
    await expect(followMonitor(monitorUrl(`http://127.0.0.1:${closed}`, {}), () => undefined)).rejects.toThrow(/cannot be reached: .*ECONNREFUSED/);
  });
});
