// The verdict stream of one agent: denied packets from the kernel's log (reader.ts), resolved against the plan
// in force (resolve.ts), counted, logged at the chosen level, and handed to the hub's readers (/monitor).
import type { Level, Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlowRecord } from '../../advise/flow-record.js';
import { DENIED_LOG_GROUP } from '../../compile/index.js';
import type { BackoffPolicy } from '../../nft/index.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type HubLimits, type MonitorHub } from './hub.js';
import { startNflogReader } from './reader.js';
import { type EnforcedView, resolveDenied } from './resolve.js';

export type MonitorLogLevel = Level | 'silent';

export interface MonitorOptions {
  /** The level of the log line of each record (`--monitor-log-level`). Default debug. */
  readonly logLevel?: MonitorLogLevel;
  /** Default: $BULKHEAD_TCPDUMP, else `tcpdump` on PATH. */
  readonly tcpdumpPath?: string;
  readonly limits?: Partial<HubLimits>;
  readonly backoff?: BackoffPolicy;
}

export interface MonitorContext {
  readonly nodeName: string;
  /** The agent's view: the snapshot and plan the kernel holds. */
  readonly view: () => EnforcedView | undefined;
  /** The agent's registry: the monitor's metrics are the agent's. */
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface Monitor {
  readonly hub: MonitorHub;
  /** Ends the readers' streams and tcpdump. */
  stop(): Promise<void>;
}

export function resolveTcpdumpPath(given: string | undefined): string {
  return given ?? process.env['BULKHEAD_TCPDUMP'] ?? 'tcpdump';
}

export function startMonitor(options: MonitorOptions, context: MonitorContext): Monitor {
  const log = context.logger.child({ component: 'monitor' });
  const level = options.logLevel ?? 'debug';
  const records = new Counter({
    name: 'bulkhead_monitor_records_total',
    help: 'Flow records of the verdict stream, by verdict',
    labelNames: ['verdict'],
    registers: [context.registry],
  });
  const dropped = new Counter({
    name: 'bulkhead_monitor_records_dropped_total',
    help: 'Logged packets that became no record (malformed, other-protocol, fragment, unknown-counter, not-ready) or reached no reader (rate-limit, slow-subscriber)',
    labelNames: ['reason'],
    registers: [context.registry],
  });
  const restarts = new Counter({
    name: 'bulkhead_monitor_reader_restarts_total',
    help: 'Times the denied-packet reader (tcpdump on nflog) ended or could not start and was started again',
    registers: [context.registry],
  });
  const hub = createMonitorHub({ ...DEFAULT_HUB_LIMITS, ...options.limits }, (reason, count) => dropped.inc({ reason }, count));
  new Gauge({
    name: 'bulkhead_monitor_subscribers',
    help: 'Readers of the verdict stream (/monitor) now',
    registers: [context.registry],
    collect() {
      this.set(hub.subscribers);
    },
  });

  const publish = (record: FlowRecord, nowMs: number) => {
    if (!hub.publish(record, nowMs)) return;
    records.inc({ verdict: record.verdict });
    log[level]({ flow: record }, `connection ${record.verdict}`);
  };

  const reader = startNflogReader({
    group: DENIED_LOG_GROUP,
    tcpdumpPath: resolveTcpdumpPath(options.tcpdumpPath),
    logger: log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    onRecord: (logged, timeMs) => {
      const resolution = resolveDenied(logged, timeMs, { view: context.view(), nodeName: context.nodeName });
      if (resolution.kind === 'record') publish(resolution.record, Date.now());
      else dropped.inc({ reason: resolution.reason });
    },
    onMalformed: () => dropped.inc({ reason: 'malformed' }),
    onRestart: () => restarts.inc(),
  });

  return {
    hub,
    async stop() {
      hub.close();
      await reader.stop();
    },
  };
}
