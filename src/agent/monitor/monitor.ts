// The verdict stream of one agent: denied packets from the kernel's log (reader.ts), resolved against the plan
// in force (resolve.ts), counted, logged at the chosen level, and handed to the hub's readers (/monitor). With
// `allowed`, the sample of allowed connections too (their own nflog group, read by the same tcpdump), each also
// kept in the flow store (/flows).
import type { Level, Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlowRecord } from '../../advise/flow-record.js';
import { ALLOWED_LOG_GROUP, DENIED_LOG_GROUP } from '../../compile/index.js';
import type { BackoffPolicy } from '../../nft/index.js';
import { createFlowStore, DEFAULT_MAX_FLOWS, type FlowStore } from '../flows/index.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type HubLimits, type MonitorHub } from './hub.js';
import { startNflogReader } from './reader.js';
import { type EnforcedView, resolveAllowed, resolveDenied } from './resolve.js';

export type MonitorLogLevel = Level | 'silent';

export interface MonitorOptions {
  /** The level of the log line of each record (`--monitor-log-level`). Default debug. */
  readonly logLevel?: MonitorLogLevel;
  /** Default: $BULKHEAD_TCPDUMP, else `tcpdump` on PATH. */
  readonly tcpdumpPath?: string;
  readonly limits?: Partial<HubLimits>;
  readonly backoff?: BackoffPolicy;
  /**
   * Read the sample of allowed connections (the plan's --monitor-allowed chain logs them to ALLOWED_LOG_GROUP)
   * and keep them in a flow store of at most `maxFlows` flows (default DEFAULT_MAX_FLOWS). Unset: denied only.
   */
  readonly allowed?: { readonly maxFlows?: number };
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
  /** The allowed connections seen, with MonitorOptions.allowed. */
  readonly flows?: FlowStore;
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
    help: 'Logged packets that became no record (malformed, other-protocol, fragment, unknown-counter, not-ready, not-local) or reached no reader (rate-limit, slow-subscriber)',
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

  const flows = options.allowed ? startFlowStore(options.allowed.maxFlows ?? DEFAULT_MAX_FLOWS, context.registry) : undefined;

  const reader = startNflogReader({
    groups: flows ? [DENIED_LOG_GROUP, ALLOWED_LOG_GROUP] : [DENIED_LOG_GROUP],
    tcpdumpPath: resolveTcpdumpPath(options.tcpdumpPath),
    logger: log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    onRecord: (logged, timeMs) => {
      const resolutionContext = { view: context.view(), nodeName: context.nodeName };
      const resolution = logged.group === ALLOWED_LOG_GROUP ? resolveAllowed(logged, timeMs, resolutionContext) : resolveDenied(logged, timeMs, resolutionContext);
      if (resolution.kind === 'skipped') {
        dropped.inc({ reason: resolution.reason });
        return;
      }
      // The store has its own bound: the hub's rate limit is for readers of the stream, not for what was seen.
      flows?.add(resolution.record);
      publish(resolution.record, Date.now());
    },
    onMalformed: () => dropped.inc({ reason: 'malformed' }),
    onRestart: () => restarts.inc(),
  });

  return {
    hub,
    ...(flows ? { flows } : {}),
    async stop() {
      hub.close();
      await reader.stop();
    },
  };
}

function startFlowStore(maxFlows: number, registry: Registry): FlowStore {
  const evicted = new Counter({
    name: 'bulkhead_flows_evicted_total',
    help: 'Allowed flows that left the flow store (at its bound) to make room for newer ones',
    registers: [registry],
  });
  const store = createFlowStore(maxFlows, () => evicted.inc());
  new Gauge({
    name: 'bulkhead_flows',
    help: 'Distinct allowed flows in the flow store (/flows) now',
    registers: [registry],
    collect() {
      this.set(store.size);
    },
  });
  return store;
}
