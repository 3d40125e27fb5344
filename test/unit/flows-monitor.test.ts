// The monitor with `allowed`: one tcpdump for both nflog groups, records of the allowed group resolved as allowed
// connections, streamed and kept in the bounded flow store, whose size and evictions are metrics. tcpdump is a
// stand-in writing test/fixtures/monitor/nflog-forward.pcap with its records moved to the allowed group.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor } from '../../src/agent/monitor/index.js';
import { ALLOWED_LOG_GROUP, compilePlan, DENIED_LOG_GROUP } from '../../src/compile/index.js';
import { namespace, pod, snapshotOf } from '../support/builders.js';

const CAPTURE = fileURLToPath(new URL('../fixtures/monitor/nflog-forward.pcap', import.meta.url));
const NODE = 'node-b';

/** The capture with every NFLOG record's group (bytes 2-3 of its header, network order) set to `group`. */
function regrouped(capture: Buffer, group: number): Buffer {
  const copy = Buffer.from(capture);
  // pcap: a 24-byte file header, then per record 16 bytes (captured length at byte 8, this host's order) and data.
  for (let offset = 24; offset + 16 <= copy.length; ) {
    const length = copy.readUInt32LE(offset + 8);
    copy.writeUInt16BE(group, offset + 16 + 2);
    offset += 16 + length;
  }
  return copy;
}

const view = () => {
  const snapshot = snapshotOf({
    namespaces: [namespace('demo')],
    pods: [
      pod('demo/web', { labels: { app: 'web' }, ips: ['10.91.2.2', 'fd91:2::2'], nodeName: 'node-a' }),
      pod('demo/client', { labels: { app: 'client' }, ips: ['10.91.1.2', 'fd91:1::2'], nodeName: NODE }),
    ],
  });
  return { snapshot, plan: compilePlan(snapshot, { nodeName: NODE, bindings: [], monitorAllowed: { ratePerSecond: 10 } }).plan };
};

const value = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;

let dir: string;
let fakeTcpdump: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulkhead-flows-monitor-'));
  await writeFile(join(dir, 'allowed.pcap'), regrouped(await readFile(CAPTURE), ALLOWED_LOG_GROUP));
  fakeTcpdump = join(dir, 'tcpdump');
  await writeFile(fakeTcpdump, `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\ncat ${join(dir, 'allowed.pcap')}\nexec sleep 30\n`);
  await chmod(fakeTcpdump, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startMonitor with allowed connections', () => {
  it('reads both groups with one tcpdump, streams allowed records and keeps them in the bounded store', async () => {
    const registry = new Registry();
    const monitor = startMonitor({ tcpdumpPath: fakeTcpdump, allowed: { maxFlows: 2 } }, { nodeName: NODE, view, registry, logger: pino({ level: 'silent' }) });
    try {
      const deadline = Date.now() + 10_000;
      while ((await value(registry, 'bulkhead_flows_evicted_total')) < 1) {
        if (Date.now() > deadline) throw new Error(`no eviction within 10 s (store: ${JSON.stringify(monitor.flows?.flows({}))})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await readFile(join(dir, 'calls'), 'utf8')).trim()).toContain(`-i nflog:${DENIED_LOG_GROUP},${ALLOWED_LOG_GROUP}`);
      const stored = monitor.flows!.flows({});
      expect(stored).toHaveLength(2);
      expect(await value(registry, 'bulkhead_flows')).toBe(2);
      expect(stored.every((r) => r.verdict === 'allowed' && r.direction === 'egress' && r.from === 'demo/client' && r.node === NODE)).toBe(true);
      const streamed = monitor.hub.recent({ verdict: 'allowed' });
      expect(streamed.map((r) => `${r.to} ${r.port}/${r.protocol}`)).toEqual(expect.arrayContaining(['demo/web 80/TCP', 'demo/web 53/UDP', 'demo/web 3868/SCTP']));
      // ICMP is no flow a policy speaks of.
      expect(await registry.getSingleMetric('bulkhead_monitor_records_dropped_total')?.get()).toMatchObject({ values: expect.arrayContaining([expect.objectContaining({ labels: { reason: 'other-protocol' } })]) });
    } finally {
      await monitor.stop();
    }
  });

  it('without allowed, reads the denied group only and keeps no store', async () => {
    const calls = async () => (await readFile(join(dir, 'calls'), 'utf8')).trim().split('\n');
    const before = (await calls()).length;
    const monitor = startMonitor({ tcpdumpPath: fakeTcpdump }, { nodeName: NODE, view, registry: new Registry(), logger: pino({ level: 'silent' }) });
    const deadline = Date.now() + 10_000;
    while ((await calls()).length === before) {
      if (Date.now() > deadline) throw new Error('the stand-in tcpdump did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await monitor.stop();
    expect(monitor.flows).toBeUndefined();
    expect((await calls()).at(-1)).toContain(`-i nflog:${DENIED_LOG_GROUP} `);
  });
});
