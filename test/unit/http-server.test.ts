// The endpoint over a real socket: binding, content types, HEAD, error logs naming the request, and close().
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AgentHttpServer, MAX_CONCURRENT_EXPLAIN, startAgentHttpServer } from '../../src/agent/http/index.js';
import type { ServedAgent } from '../../src/agent/http/served-agent.js';
import { snapshotOf, pod } from '../support/builders.js';

const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
      done();
    },
  }),
);

const snapshot = snapshotOf({ pods: [pod('default/local', { ips: ['10.244.0.5'], nodeName: 'node-a' })] });
const agent: ServedAgent = {
  registry: new Registry(),
  status: () => ({ ready: true }),
  view: () => ({ snapshot, plan: { tables: [], counters: {} } }),
  dropCounts: () => Promise.reject(new Error('nft: cannot read counters')),
};

let server: AgentHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  lines.length = 0;
});

describe('agent HTTP server', () => {
  it('listens where asked and answers over HTTP', async () => {
    server = await startAgentHttpServer(agent, { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, health.headers.get('content-type'), await health.text()]).toEqual([200, 'text/plain; charset=utf-8', 'ok\n']);
    const head = await fetch(`${server.url}/readyz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    const missing = await fetch(`${server.url}/explain?pod=default/nobody`);
    expect([missing.status, await missing.json()]).toEqual([404, { error: 'no pod default/nobody known to this agent (expected NAMESPACE/NAME or an IP)' }]);
    // Client errors are the client's: only failures are logged.
    expect(lines.filter((l) => l['msg'] === 'request failed')).toEqual([]);
  });

  it('answers 500 when the kernel cannot be read, and logs the request', async () => {
    server = await startAgentHttpServer(agent, { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger });
    const reply = await fetch(`${server.url}/explain?pod=default/local`);
    expect([reply.status, await reply.json()]).toEqual([500, { error: 'cannot answer GET /explain?pod=default/local: nft: cannot read counters' }]);
    expect(lines.filter((l) => l['msg'] === 'request failed')).toMatchObject([{ request: 'GET /explain?pod=default/local', status: 500, component: 'http' }]);
  });

  it('binds IPv6 and closes promptly with a keep-alive client connected', async () => {
    server = await startAgentHttpServer(agent, { address: '::1', port: 0, explain: false, nodeName: 'node-a', logger });
    expect(server.url).toBe(`http://[::1]:${server.port}`);
    const off = await fetch(`${server.url}/explain?pod=default/local`);
    expect(off.status).toBe(404);
    const started = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it(`answers at most ${MAX_CONCURRENT_EXPLAIN} /explain at once: more get 429 and Retry-After, other endpoints none`, async () => {
    let release!: (error: Error) => void;
    const held = new Promise<never>((_resolve, reject) => (release = reject));
    let asked = 0;
    const slow: ServedAgent = { ...agent, dropCounts: () => (asked++, held) };
    server = await startAgentHttpServer(slow, { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger });
    const explain = `${server.url}/explain?pod=default/local`;
    const answering = Array.from({ length: MAX_CONCURRENT_EXPLAIN }, () => fetch(explain));
    await vi.waitFor(() => expect(asked).toBe(MAX_CONCURRENT_EXPLAIN));
    const refused = await fetch(explain);
    expect([refused.status, refused.headers.get('retry-after'), await refused.json()]).toEqual([
      429,
      '1',
      { error: `${MAX_CONCURRENT_EXPLAIN} explain requests are being answered: try again in a second` },
    ]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/explain?pod=default/nobody`)).status).toBe(429);
    release(new Error('nft: cannot read counters'));
    expect((await Promise.all(answering)).map((reply) => reply.status)).toEqual(Array(MAX_CONCURRENT_EXPLAIN).fill(500));
    // Their slots are free again.
    expect((await fetch(`${server.url}/explain?pod=default/nobody`)).status).toBe(404);
  });

  it('fails to start on a port already taken', async () => {
    server = await startAgentHttpServer(agent, { address: '127.0.0.1', port: 0, explain: true, nodeName: 'node-a', logger });
    await expect(startAgentHttpServer(agent, { address: '127.0.0.1', port: server.port, explain: true, nodeName: 'node-a', logger })).rejects.toThrow(/EADDRINUSE/);
  });
});
