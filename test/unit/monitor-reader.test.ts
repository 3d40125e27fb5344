// The monitor as the agent runs it, with a stand-in for tcpdump (a script writing the captured pcap stream of
// test/fixtures/monitor, then exiting): records resolved against the view, published, logged at the chosen level
// and counted; what makes no record counted by reason; tcpdump's end, or its absence, logged, counted and retried.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor } from '../../src/agent/monitor/index.js';
import { PRIVILEGE_HINT, tcpdumpArguments } from '../../src/agent/monitor/reader.js';
import type { EnforcedView } from '../../src/agent/monitor/resolve.js';
import { compilePlan } from '../../src/compile/index.js';
import { namespace, pod, policy, selector, snapshotOf } from '../support/builders.js';

const CAPTURE = fileURLToPath(new URL('../fixtures/monitor/nflog-forward.pcap', import.meta.url));
const NODE = 'node-a';

function view(): EnforcedView {
  const snapshot = snapshotOf({
    namespaces: [namespace('demo')],
    pods: [
      pod('demo/web', { labels: { app: 'web' }, ips: ['10.91.2.2', 'fd91:2::2'], nodeName: NODE }),
      pod('demo/client', { labels: { app: 'client' }, ips: ['10.91.1.2', 'fd91:1::2'], nodeName: 'node-b' }),
    ],
    policies: [policy('demo/web-closed', { podSelector: selector({ app: 'web' }) })],
  });
  return { snapshot, plan: compilePlan(snapshot, { nodeName: NODE, bindings: [] }).plan };
}

function logger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
        done();
      },
    }),
  );
  return { log, lines };
}

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const series = async (registry: Registry, name: string) =>
  Object.fromEntries(((await registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => [JSON.stringify(v.labels), v.value]));

let dir: string;
let fakeTcpdump: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulkhead-monitor-'));
  fakeTcpdump = join(dir, 'tcpdump');
  // Records its arguments, writes the capture, and ends as tcpdump would when its interface goes away.
  await writeFile(fakeTcpdump, `#!/bin/sh\necho "$@" >> ${join(dir, 'calls')}\ncat ${CAPTURE}\necho "tcpdump: stand-in ends" >&2\nexit 1\n`);
  await chmod(fakeTcpdump, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startMonitor', () => {
  it('publishes resolved records, logs each at the chosen level, counts records, skips and restarts', async () => {
    const registry = new Registry();
    const { log, lines } = logger('info');
    const monitor = startMonitor(
      { logLevel: 'info', tcpdumpPath: fakeTcpdump, backoff: { initialDelayMs: 20, maxDelayMs: 40 } },
      { nodeName: NODE, view, registry, logger: log },
    );
    try {
      await until('two runs of the stand-in', async () => ((await series(registry, 'bulkhead_monitor_reader_restarts_total'))['{}'] ?? 0) >= 2);
      const kept = monitor.hub.recent({});
      // Each run: TCP 80, UDP 53, TCPv6 443 and SCTP 3868 resolve; the overwritten UDPv6 and the ICMP echo do not.
      expect(kept.slice(0, 4).map((r) => `${r.from} -> ${r.to} ${r.port}/${r.protocol} ${r.policies.join(',')}`)).toEqual([
        'demo/client -> demo/web 80/TCP demo/web-closed',
        'demo/client -> demo/web 53/UDP demo/web-closed',
        'demo/client -> demo/web 443/TCP demo/web-closed',
        'demo/client -> demo/web 3868/SCTP demo/web-closed',
      ]);
      expect(kept.length % 4).toBe(0);
      const runs = kept.length / 4;
      expect(await series(registry, 'bulkhead_monitor_records_total')).toEqual({ '{"verdict":"dropped"}': kept.length });
      const dropped = await series(registry, 'bulkhead_monitor_records_dropped_total');
      expect(dropped['{"reason":"malformed"}']).toBeGreaterThanOrEqual(runs);
      expect(dropped['{"reason":"other-protocol"}']).toBeGreaterThanOrEqual(runs);
      const flows = lines.filter((l) => l['msg'] === 'connection dropped');
      expect(flows.slice(0, 1)).toEqual([expect.objectContaining({ level: 30, component: 'monitor', flow: kept[0] })]);
      expect(lines.find((l) => l['msg']?.toString().startsWith('the denied-packet reader (tcpdump) ended'))).toMatchObject({
        level: 50,
        code: 1,
        stderr: 'tcpdump: stand-in ends',
        recordsRead: 6,
      });
    } finally {
      await monitor.stop();
    }
    expect(monitor.hub.subscribe({}, { wake: () => undefined, end: () => undefined })).toBeUndefined();
  });

  it('keeps records out of the log below its level, and retries a tcpdump that is not there', async () => {
    const registry = new Registry();
    const { log, lines } = logger('info');
    const missing = join(dir, 'no-such-tcpdump');
    const monitor = startMonitor({ tcpdumpPath: missing, backoff: { initialDelayMs: 20, maxDelayMs: 40 } }, { nodeName: NODE, view, registry, logger: log });
    try {
      await until('three attempts', async () => ((await series(registry, 'bulkhead_monitor_reader_restarts_total'))['{}'] ?? 0) >= 3);
      expect(lines.filter((l) => l['msg']?.toString().startsWith('the denied-packet reader (tcpdump) ended'))[0]).toMatchObject({
        err: expect.objectContaining({ code: 'ENOENT' }) as unknown,
        command: `${missing} ${tcpdumpArguments(8421).join(' ')}`,
      });
    } finally {
      await monitor.stop();
    }
    const quiet = startMonitor({ tcpdumpPath: fakeTcpdump, backoff: { initialDelayMs: 20, maxDelayMs: 40 } }, { nodeName: NODE, view, registry: new Registry(), logger: log });
    try {
      await until('a record', () => quiet.hub.recent({}).length > 0);
      expect(lines.filter((l) => l['msg'] === 'connection dropped')).toEqual([]);
    } finally {
      await quiet.stop();
    }
  });

  it('says which capability tcpdump lacks when it cannot keep root', async () => {
    const registry = new Registry();
    const { log, lines } = logger('info');
    const unprivileged = join(dir, 'tcpdump-unprivileged');
    // What tcpdump 4.99.3 writes and does under a bounding set of NET_ADMIN alone (measured with setpriv).
    await writeFile(unprivileged, `#!/bin/sh\nprintf '\\324\\303\\262\\241\\002\\000\\004\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\020\\000\\000\\357\\000\\000\\000'\necho "tcpdump: Couldn't change to 'root' uid=0 gid=0: Operation not permitted" >&2\nexit 1\n`);
    await chmod(unprivileged, 0o755);
    const monitor = startMonitor({ tcpdumpPath: unprivileged, backoff: { initialDelayMs: 1_000, maxDelayMs: 1_000 } }, { nodeName: NODE, view, registry, logger: log });
    try {
      await until('the failure', () => lines.some((l) => l['hint'] !== undefined));
      expect(lines.find((l) => l['hint'] !== undefined)).toMatchObject({ hint: PRIVILEGE_HINT, recordsRead: 0, code: 1 });
    } finally {
      await monitor.stop();
    }
  });

  it('asks tcpdump for the nflog group as root, unbuffered, as a pcap stream on stdout', () => {
    expect(tcpdumpArguments(8421)).toEqual(['-Z', 'root', '-i', 'nflog:8421', '-U', '-w', '-', '-s', '4096', '--immediate-mode', '-q']);
  });
});
