// GET /monitor: the verdict stream over HTTP, one flow record a JSON line, in a chunked response that stays open
// until the reader leaves or the agent stops. Parameters: pod=NS/NAME (records with that pod at either end),
// verdict=dropped|allowed|audit, and recent=1 or since=ISO-8601 to begin with the records the agent still holds.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { FLOW_VERDICTS, type FlowRecord, type FlowVerdict } from '../../advise/flow-record.js';
import type { MonitorFilter, MonitorHub } from './hub.js';

export const MONITOR_PATH = '/monitor';
const PARAMETERS = ['pod', 'verdict', 'recent', 'since'] as const;
const USAGE = `expected pod=NAMESPACE/NAME, verdict=${FLOW_VERDICTS.join('|')}, recent=1 or since=ISO-8601 time (all optional)`;
const POD = /^[^/\s]+\/[^/\s]+$/;

export interface MonitorQuery {
  readonly filter: MonitorFilter;
  /** Begin with the kept records: all of them (0) or those at or after this time (ms since the epoch). */
  readonly recentSinceMs?: number;
}

/** The query of a /monitor URL, or what is wrong with it. */
export function monitorQuery(search: URLSearchParams): MonitorQuery | string {
  const given = new Map<string, string>();
  for (const [name, value] of search) {
    if (!(PARAMETERS as readonly string[]).includes(name)) return `unknown parameter ${name}: ${USAGE}`;
    if (given.has(name)) return `parameter ${name} given twice`;
    given.set(name, value);
  }
  const pod = given.get('pod');
  if (pod !== undefined && !POD.test(pod)) return `pod=${pod}: expected NAMESPACE/NAME`;
  const verdict = given.get('verdict');
  if (verdict !== undefined && !(FLOW_VERDICTS as readonly string[]).includes(verdict)) return `verdict=${verdict}: expected ${FLOW_VERDICTS.join(', ')}`;
  const recent = given.get('recent');
  if (recent !== undefined && recent !== '1' && recent !== 'true') return `recent=${recent}: expected recent=1`;
  const since = given.get('since');
  const sinceMs = since === undefined ? undefined : Date.parse(since);
  if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(since) || !Number.isFinite(sinceMs))) return `since=${since}: expected an ISO-8601 time (2026-01-31T12:00:00Z)`;
  const filter: MonitorFilter = { ...(pod === undefined ? {} : { pod }), ...(verdict === undefined ? {} : { verdict: verdict as FlowVerdict }) };
  if (sinceMs !== undefined) return { filter, recentSinceMs: sinceMs };
  return recent === undefined ? { filter } : { filter, recentSinceMs: 0 };
}

const lines = (records: readonly FlowRecord[]) => records.map((record) => `${JSON.stringify(record)}\n`).join('');

function refuse(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(`${JSON.stringify({ error: message }, null, 2)}\n`);
}

/** Answers one /monitor request on `response`, for as long as the reader stays. */
export function serveMonitor(request: IncomingMessage, response: ServerResponse, hub: MonitorHub, logger: Logger): void {
  if (request.method !== 'GET') {
    response.setHeader('allow', 'GET');
    refuse(response, 405, `${request.method ?? '?'} is not allowed: /monitor is a stream to GET`);
    return;
  }
  const query = monitorQuery(new URL(request.url ?? '/', 'http://agent').searchParams);
  if (typeof query === 'string') {
    refuse(response, 400, query);
    return;
  }
  // Waiting for the socket to drain: records stay in the subscription's bounded queue meanwhile.
  let draining = false;
  const flush = () => {
    if (draining || response.writableEnded) return;
    const records = subscription?.take() ?? [];
    if (records.length > 0 && !response.write(lines(records))) {
      draining = true;
      response.once('drain', () => {
        draining = false;
        flush();
      });
    }
  };
  // Subscribed before the kept records are written, so none falls between the two.
  const subscription = hub.subscribe(query.filter, { wake: () => setImmediate(flush), end: () => response.end() });
  if (!subscription) {
    refuse(response, 503, `too many readers of the verdict stream (${hub.subscribers}); try again later`);
    return;
  }
  response.on('close', () => subscription.close());
  // A stream's connection is not reused: once it ends, nothing keeps it open.
  response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  response.flushHeaders();
  logger.debug({ filter: query.filter, recent: query.recentSinceMs !== undefined }, 'verdict stream reader joined');
  if (query.recentSinceMs !== undefined) {
    const kept = hub.recent(query.filter, query.recentSinceMs);
    if (kept.length > 0 && !response.write(lines(kept))) {
      draining = true;
      response.once('drain', () => {
        draining = false;
        flush();
      });
    }
  }
}
