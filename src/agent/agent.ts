// The agent: cluster state (the Kubernetes API or manifest files, and the CNI cache) -> snapshot -> plan -> one
// nft transaction per sync. It keeps the plan the kernel holds in memory and never lists the ruleset; it never
// flushes its tables, on exit or otherwise: a failed transaction leaves the previous rules, an API outage the
// last known state's, and a stopped agent its last ones.
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { createCompiler, isEmptyTransaction, type Plan, POLICY_TABLE } from '../compile/index.js';
import { podKey } from '../model/index.js';
import { type BackoffPolicy, backoffDelay, createNftRunner, describeTarget } from '../nft/index.js';
import { readCniCache } from '../node/cni-cache.js';
import { buildSnapshot, type Snapshot } from '../snapshot/snapshot.js';
import { apiSource, WAITING_FOR_LIST } from './api-source.js';
import { watchDirectories } from './directory-watch.js';
import { type DriftCheckOutcome, startDriftChecker } from './drift/index.js';
import { type DropCount, type KernelCounters, kernelCountersOf } from './drop-counts.js';
import { findingsReporter } from './findings.js';
import { manifestSource } from './manifest-source.js';
import { createAgentMetrics, type KnownObjects } from './metrics.js';
import { type AgentOptions, type AgentSource, resolveAgentOptions } from './options.js';
import { planObjectOwners } from './plan-owners.js';
import { createSyncScheduler, type SyncResult } from './schedule.js';
import type { StateSource, StateVersion } from './state-source.js';
import { syncStep } from './sync-step.js';

/** Between failed syncs (after the runner's own retries of one transaction gave up). */
export const SYNC_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000 };

export interface AgentStatus {
  /** The plan last applied, which the kernel holds; undefined before the first successful sync. */
  readonly applied?: Plan;
  /** False after a failed transaction: the next one rebuilds the tables rather than trusting a diff. */
  readonly exact: boolean;
  readonly appliedTransactions: number;
  readonly failedSyncs: number;
  readonly consecutiveFailures: number;
  /** The state is known (the API source: listed) and its first plan applied; stays true through outages. */
  readonly ready: boolean;
  /** Why not ready, while not. */
  readonly readyReason?: string;
  /** When a sync last brought the kernel in line with a newer state (ms since the epoch); see inForce. */
  readonly lastSuccessfulSyncAt?: number;
  readonly source: AgentSource['kind'];
  /** The API source: the resourceVersion of the state whose rules the kernel holds. */
  readonly resourceVersion?: string;
}

/** What the kernel enforces now: the plan it holds and the snapshot that plan was compiled from. */
export interface AgentView {
  readonly snapshot: Snapshot;
  readonly plan: Plan;
}

export interface Agent {
  /** All the agent's metrics (the nft runner's among them). */
  readonly registry: Registry;
  status(): AgentStatus;
  /** Undefined before the first plan is applied. */
  view(): AgentView | undefined;
  /** Packets dropped per local pod and direction, from the named counters of the applied plan. */
  dropCounts(): Promise<DropCount[]>;
  /** Compares the kernel with the applied plan now (it is also done every drift check interval). */
  checkDrift(): Promise<DriftCheckOutcome>;
  /** Has the next sync replace the tables whole, in one transaction. */
  requestFullResync(reason: string): void;
  /** Stops watching and syncing, after a sync in progress ends. The rules stay in the kernel. */
  stop(): Promise<void>;
}

const FIRST_PLAN_PENDING = 'the first plan is not applied yet';

export async function startAgent(agentOptions: AgentOptions): Promise<Agent> {
  const { options, errors } = resolveAgentOptions(agentOptions);
  if (!options) throw new Error(`bulkhead agent: ${errors.join('; ')}`);
  const log: Logger = (agentOptions.logger ?? pino()).child({ node: options.nodeName });
  const registry = new Registry();
  const runner = createNftRunner({ logger: log, registry, ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }) });
  const report = findingsReporter();
  const compiler = createCompiler();

  let kernel: { plan: Plan; exact: boolean } | undefined;
  let view: AgentView | undefined;
  let versionInForce: StateVersion | undefined;
  let syncedInputs: string | undefined;
  let known: KnownObjects | undefined;
  // Why not ready: the source has no state yet, or the first plan is not applied (and why, after a failure).
  let waitingFor: string | undefined = options.source.kind === 'cluster' ? WAITING_FOR_LIST : undefined;
  let lastFailure: string | undefined;
  let lastSuccessfulSyncAt: number | undefined;
  let appliedTransactions = 0;
  let failedSyncs = 0;
  let consecutiveFailures = 0;
  // Kernel drift found: the next sync rebuilds the tables, even one already under way when it was found.
  let rebuildRequested = false;
  // Changes when a transaction starts and when it ends (odd while one runs): drift checks skip listings taken across one.
  let transactionEdges = 0;

  // Change notifications arrive only after setup has finished, when `scheduler` exists.
  const changed = () => scheduler.changed();
  const cniWatch = watchDirectories([options.cniResultsDir], changed, log);
  const source: StateSource =
    options.source.kind === 'manifests'
      ? manifestSource(options.source.directory, changed, log, report)
      : apiSource(options.source.connection, options.source.timing, changed, log);

  const kernelCounters = async (): Promise<KernelCounters> => {
    const plan = kernel?.plan;
    return plan ? kernelCountersOf(plan, await runner.readCounters(POLICY_TABLE)) : { drops: [] };
  };
  const dropCounts = async (): Promise<DropCount[]> => [...(await kernelCounters()).drops];
  const ready = () => kernel !== undefined;
  const metrics = createAgentMetrics(
    registry,
    {
      counters: kernelCounters,
      watchStatus: () => source.watchStatus(),
      known: () => known,
      applied: () => kernel?.plan,
      lastSuccessfulSyncAt: () => lastSuccessfulSyncAt,
      ready,
    },
    log,
  );

  const failed = (): SyncResult => {
    failedSyncs++;
    consecutiveFailures++;
    metrics.syncFailures.inc();
    if (kernel) kernel = { plan: kernel.plan, exact: false };
    return { retryInMs: backoffDelay(consecutiveFailures, SYNC_BACKOFF, Math.random()) };
  };

  /**
   * The kernel holds the rules of `version`'s state: say so, once per version. Only a newer state counts as a
   * successful sync: during an API outage the periodic rescans confirm nothing new, and the timestamp stops.
   */
  const inForce = (version: StateVersion, message: 'rules applied' | 'rules already in force', fields: Record<string, unknown> = {}) => {
    consecutiveFailures = 0;
    if (message === 'rules already in force' && JSON.stringify(version) === JSON.stringify(versionInForce)) return;
    lastSuccessfulSyncAt = Date.now();
    versionInForce = version;
    log.info({ ...fields, ...version }, message);
  };

  const sync = async (): Promise<SyncResult> => {
    cniWatch.ensure();
    const read = await source.read();
    switch (read.kind) {
      case 'waiting':
        waitingFor = read.reason;
        return {};
      case 'failed': {
        const result = failed();
        lastFailure = `${read.message}: ${read.error instanceof Error ? read.error.message : String(read.error)}`;
        log.error({ object: read.object, err: read.error, retryInMs: result.retryInMs }, read.message);
        return result;
      }
      case 'state':
        break;
      default: {
        const unreachable: never = read;
        throw new Error(`unknown source read ${JSON.stringify(unreachable)}`);
      }
    }
    const { state } = read;
    waitingFor = undefined;
    known = { namespaces: state.input.namespaces.length, pods: state.input.pods.length, policies: state.input.policies.length };
    const cni = await readCniCache(options.cniResultsDir);
    report('cni warnings', cni.warnings, (w) => JSON.stringify(w), (w) =>
      log.warn({ object: `file ${w.path}` }, `CNI result cache file ignored: ${w.message}`),
    );

    const inputs = JSON.stringify([state.key, cni.bindings]);
    if (kernel?.exact && !rebuildRequested && inputs === syncedInputs) {
      // Nothing to compile; an API source's newer resourceVersion (a bookmark) is in force all the same.
      inForce(state.version, 'rules already in force');
      return {};
    }
    const endTimer = metrics.syncSeconds.startTimer();
    const snapshot = buildSnapshot(state.input);
    const trusted = kernel?.exact && !rebuildRequested ? kernel.plan : undefined;
    rebuildRequested = false;
    const step = syncStep(trusted, snapshot, {
      nodeName: options.nodeName,
      bindings: cni.bindings,
      ...(options.unknownLocalPods === undefined ? {} : { unknownLocalPods: options.unknownLocalPods }),
      ...(options.monitorAllowed === undefined ? {} : { monitorAllowed: options.monitorAllowed }),
    }, compiler);
    report('compile problems', step.problems, (p) => JSON.stringify(p), (p) =>
      log.warn({ object: p.object, field: p.field, problem: p.kind }, p.message),
    );
    report('unbound pods', step.unboundPods, podKey, (p) =>
      log.warn({ object: `Pod ${podKey(p)}` }, 'local pod has no CNI binding: its source addresses are not checked'),
    );
    if (isEmptyTransaction(step.transaction)) {
      endTimer();
      syncedInputs = inputs;
      view = { snapshot, plan: step.desired };
      inForce(state.version, 'rules already in force');
      return {};
    }

    transactionEdges++;
    const outcome = await runner.apply(step.transaction).finally(() => transactionEdges++);
    endTimer();
    if (outcome.ok) {
      kernel = { plan: step.desired, exact: true };
      view = { snapshot, plan: step.desired };
      syncedInputs = inputs;
      appliedTransactions++;
      inForce(state.version, 'rules applied', { commands: step.transaction.nftables.length, replacedTables: step.replacesTables, attempts: outcome.attempts });
      return {};
    }
    const appliedPlan = kernel?.plan;
    const result = failed();
    const command = outcome.failure.failedCommand;
    lastFailure = outcome.failure.messages.join('; ');
    const owners = command ? planObjectOwners(appliedPlan ? [step.desired, appliedPlan] : [step.desired], command) : [];
    log.error(
      {
        object: owners.length > 0 ? owners.join(', ') : command ? describeTarget(command) : 'transaction',
        ...(command ? { command: describeTarget(command) } : {}),
        errors: outcome.failure.messages,
        retryInMs: result.retryInMs,
      },
      'rules not applied; the kernel keeps the previous ones and the next attempt rebuilds the tables',
    );
    return result;
  };

  const scheduler = createSyncScheduler({ debounceMs: options.debounceMs, maxDelayMs: options.maxDelayMs }, async () => {
    try {
      return await sync();
    } catch (error) {
      const result = failed();
      lastFailure = error instanceof Error ? error.message : String(error);
      log.error({ object: 'agent', err: error, retryInMs: result.retryInMs }, 'sync failed; the rules in the kernel stay as they are');
      return result;
    }
  });
  const rescan = setInterval(changed, options.rescanIntervalMs);
  const requestFullResync = (reason: string) => {
    rebuildRequested = true;
    log.info({ reason }, 'the next sync rebuilds the tables');
    scheduler.changed();
  };
  const driftChecker = startDriftChecker({
    subject: {
      appliedKernel: () =>
        kernel?.exact && !rebuildRequested && transactionEdges % 2 === 0 ? { plan: kernel.plan, generation: transactionEdges } : undefined,
      requestFullResync,
    },
    logger: log,
    registry,
    ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }),
    ...(agentOptions.driftCheckIntervalMs === undefined ? {} : { intervalMs: agentOptions.driftCheckIntervalMs }),
  });

  log.info(
    {
      source: options.source.kind,
      ...(options.source.kind === 'manifests' ? { manifests: options.source.directory } : {}),
      cniResults: options.cniResultsDir,
      debounceMs: options.debounceMs,
      maxDelayMs: options.maxDelayMs,
      unknownLocalPods: options.unknownLocalPods ? { action: 'drop', podCidrs: options.unknownLocalPods.podCidrs } : { action: 'allow' },
    },
    'agent started; the rules of an earlier run stay until the first plan replaces them',
  );
  scheduler.changed();

  return {
    registry,
    status: () => ({
      ...(kernel ? { applied: kernel.plan } : {}),
      exact: kernel?.exact ?? false,
      appliedTransactions,
      failedSyncs,
      consecutiveFailures,
      ready: ready(),
      ...(ready() ? {} : { readyReason: waitingFor ?? (lastFailure === undefined ? FIRST_PLAN_PENDING : `${FIRST_PLAN_PENDING}: ${lastFailure}`) }),
      ...(lastSuccessfulSyncAt === undefined ? {} : { lastSuccessfulSyncAt }),
      source: options.source.kind,
      ...(versionInForce && 'resourceVersion' in versionInForce ? { resourceVersion: versionInForce.resourceVersion } : {}),
    }),
    view: () => view,
    dropCounts,
    checkDrift: () => driftChecker.checkNow(),
    requestFullResync,
    stop: async () => {
      await driftChecker.stop();
      clearInterval(rescan);
      cniWatch.close();
      await source.close();
      await scheduler.stop();
      await runner.close();
      log.info('agent stopped; its rules stay in the kernel');
    },
  };
}
