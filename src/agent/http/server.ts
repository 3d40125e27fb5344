// The agent's HTTP endpoint on node:http: /healthz, /readyz, /metrics, /explain. It reads only the agent's state
// and, for /explain, the kernel; nothing it serves changes what the agent enforces.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { resolveNftPath } from '../../nft/process.js';
import type { FlowStore } from '../flows/index.js';
import { MONITOR_PATH, type MonitorHub, serveMonitor } from '../monitor/index.js';
import { nftChainReader } from './kernel-rules.js';
import { answer, errorAnswer, type HttpAnswer, type RouteContext } from './routes.js';
import type { ServedAgent } from './served-agent.js';

/**
 * /explain answers at once, at most: each reads the kernel with nft, and a client looping on it must not fill the
 * node with nft processes or hold up the agent's syncs. More get 429 and Retry-After; the other endpoints are
 * never limited.
 */
export const MAX_CONCURRENT_EXPLAIN = 4;
const EXPLAIN_PATH = '/explain';

export interface AgentHttpServerOptions {
  readonly address: string;
  /** 0: any free port (tests). */
  readonly port: number;
  readonly explain: boolean;
  readonly nodeName: string;
  /** Default: $BULKHEAD_NFT, else `nft` on PATH: the agent's own resolution. */
  readonly nftPath?: string;
  readonly logger: Logger;
  /** The verdict stream, served on /monitor; without it, /monitor is no endpoint. */
  readonly monitor?: MonitorHub;
  /** The allowed connections seen, served on /flows; without it, /flows answers 404 saying how to get them. */
  readonly flows?: FlowStore;
}

export interface AgentHttpServer {
  /** Where it listens, the port resolved when 0 was asked. */
  readonly address: string;
  readonly port: number;
  /** `http://address:port`, IPv6 addresses bracketed. */
  readonly url: string;
  /** Stops accepting and closes idle connections; resolves once open requests are answered. */
  close(): Promise<void>;
}

export async function startAgentHttpServer(agent: ServedAgent, options: AgentHttpServerOptions): Promise<AgentHttpServer> {
  const log = options.logger.child({ component: 'http' });
  const context: RouteContext = {
    agent,
    nodeName: options.nodeName,
    explain: options.explain,
    readChain: nftChainReader(resolveNftPath(options.nftPath)),
    monitor: options.monitor !== undefined,
    ...(options.flows ? { flows: options.flows } : {}),
  };
  let explaining = 0;
  const server: Server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const pathname = pathOf(url);
    // A stream, not an answer: it stays open while the reader follows it.
    if (options.monitor && pathname === MONITOR_PATH) return serveMonitor(request, response, options.monitor, log);
    const limited = pathname === EXPLAIN_PATH && options.explain;
    let reply: Promise<HttpAnswer>;
    if (limited && explaining >= MAX_CONCURRENT_EXPLAIN) {
      const busy = errorAnswer(429, `${MAX_CONCURRENT_EXPLAIN} explain requests are being answered: try again in a second`);
      reply = Promise.resolve({ ...busy, headers: { 'retry-after': '1' } });
    } else {
      if (limited) explaining++;
      reply = answer(method, url, context)
        .catch((cause: unknown) => errorAnswer(500, `cannot answer ${method} ${url}: ${cause instanceof Error ? cause.message : String(cause)}`))
        .finally(() => {
          if (limited) explaining--;
        });
    }
    reply
      .then((reply) => {
        // 503 is the expected answer while not ready (the kubelet's probe asks every few seconds): not an error.
        if (reply.status >= 500 && reply.status !== 503) log.error({ request: `${method} ${url}`, status: reply.status, error: reply.error }, 'request failed');
        response.writeHead(reply.status, { 'content-type': reply.contentType, ...reply.headers });
        response.end(reply.body);
      })
      .catch((cause: unknown) => log.error({ request: `${method} ${url}`, err: cause }, 'cannot send the answer'));
  });
  // Keep-alive connections of scrapers would hold close() open for their idle timeout.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (cause) => log.error({ err: cause }, 'HTTP server error'));
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info({ address: bound.address, port: bound.port, explain: options.explain }, 'HTTP endpoint listening');
  return {
    address: bound.address,
    port: bound.port,
    url: `http://${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((cause) => (cause ? reject(cause) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/** The request's path; undefined when the target does not parse (answer() then fails the request, naming it). */
function pathOf(url: string): string | undefined {
  try {
    return new URL(url, 'http://agent').pathname;
  } catch {
    return undefined;
  }
}
