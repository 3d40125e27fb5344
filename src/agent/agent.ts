// The agent: cluster state (manifest files, the CNI cache) -> snapshot -> plan -> one nft transaction per sync.
// It keeps the plan the kernel holds in memory and never lists the ruleset; it never flushes its tables, on
// exit or otherwise: a failed transaction leaves the previous rules, and a stopped agent leaves its last ones.
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { isEmptyTransaction, type Plan, POLICY_TABLE } from '../compile/index.js';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, type LoadOptions, podKey } from '../model/index.js';
import { type BackoffPolicy, backoffDelay, createNftRunner, describeTarget } from '../nft/index.js';
import { readCniCache } from '../node/cni-cache.js';
import { buildSnapshot } from '../snapshot/snapshot.js';
import { watchDirectories } from './directory-watch.js';
import { findingsChange } from './findings.js';
import { acceptManifests, clusterFromManifests, manifestsDigest, readManifestDirectory } from './manifests.js';
import { type AgentOptions, resolveAgentOptions } from './options.js';
import { planObjectOwners } from './plan-owners.js';
import { createSyncScheduler, type SyncResult } from './schedule.js';
import { syncStep } from './sync-step.js';

/** Between failed syncs (after the runner's own retries of one transaction gave up). */
export const SYNC_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000 };

const LOAD_OPTIONS: LoadOptions = { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS };

export interface AgentStatus {
  /** The plan last applied, which the kernel holds; undefined before the first successful sync. */
  readonly applied?: Plan;
  /** False after a failed transaction: the next one rebuilds the tables rather than trusting a diff. */
  readonly exact: boolean;
  readonly appliedTransactions: number;
  readonly failedSyncs: number;
  readonly consecutiveFailures: number;
}

export interface DropCount {
  readonly namespace: string;
  readonly pod: string;
  readonly direction: 'ingress' | 'egress';
  readonly packets: number;
  readonly bytes: number;
}

export interface Agent {
  /** The agent's metrics (the nft runner's among them). */
  readonly registry: Registry;
  status(): AgentStatus;
  /** Packets dropped per local pod and direction, from the named counters of the applied plan. */
  dropCounts(): Promise<DropCount[]>;
  /** Stops watching and syncing, after a sync in progress ends. The rules stay in the kernel. */
  stop(): Promise<void>;
}

export async function startAgent(agentOptions: AgentOptions): Promise<Agent> {
  const { options, errors } = resolveAgentOptions(agentOptions);
  if (!options) throw new Error(`bulkhead agent: ${errors.join('; ')}`);
  const log: Logger = (agentOptions.logger ?? pino()).child({ node: options.nodeName });
  const registry = new Registry();
  const runner = createNftRunner({ logger: log, registry, ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }) });

  let kernel: { plan: Plan; exact: boolean } | undefined;
  let syncedInputs: string | undefined;
  let accepted: ReadonlyMap<string, string> = new Map();
  let appliedTransactions = 0;
  let failedSyncs = 0;
  let consecutiveFailures = 0;
  const reported = new Map<string, ReadonlySet<string>>();
  // Events arrive only after setup has finished, when `scheduler` exists.
  const watchers = watchDirectories([options.manifestsDir, options.cniResultsDir], () => scheduler.changed(), log);

  /** Logs each finding of `topic` once, when it appears. */
  const report = <T>(topic: string, findings: readonly T[], key: (f: T) => string, logOne: (f: T) => void) => {
    const change = findingsChange(reported.get(topic) ?? new Set(), findings, key);
    reported.set(topic, change.current);
    change.appeared.forEach(logOne);
  };

  const failed = (): SyncResult => {
    failedSyncs++;
    consecutiveFailures++;
    if (kernel) kernel = { plan: kernel.plan, exact: false };
    return { retryInMs: backoffDelay(consecutiveFailures, SYNC_BACKOFF, Math.random()) };
  };

  const sync = async (): Promise<SyncResult> => {
    watchers.ensure();
    let files;
    try {
      files = await readManifestDirectory(options.manifestsDir);
    } catch (error) {
      const result = failed();
      log.error({ object: `directory ${options.manifestsDir}`, err: error, retryInMs: result.retryInMs }, 'cannot read the manifests; the rules in the kernel stay as they are');
      return result;
    }
    const acceptance = acceptManifests(accepted, files, LOAD_OPTIONS);
    accepted = acceptance.accepted;
    report('rejected manifests', acceptance.rejected, (r) => JSON.stringify(r), (rejected) =>
      log.error(
        { object: `file ${rejected.path}`, errors: rejected.errors.map((e) => `${e.object}${e.field ? ` ${e.field}` : ''}: ${e.message}`) },
        rejected.keptLastGood
          ? 'manifest file does not load; its last good content stays in force'
          : 'manifest file does not load and has no earlier good content; only its valid objects are used',
      ),
    );
    const cluster = clusterFromManifests(acceptance, LOAD_OPTIONS);
    // A file used despite its errors (it never loaded cleanly) had them logged with its rejection.
    const rejectedPaths = new Set(acceptance.rejected.filter((r) => !r.keptLastGood).map((r) => r.path));
    const loadErrors = cluster.errors.filter((e) => e.source === undefined || !rejectedPaths.has(e.source));
    report('load errors', loadErrors, (e) => JSON.stringify(e), (e) =>
      log.warn({ object: e.object, field: e.field, source: e.source }, e.message),
    );
    report('load warnings', cluster.warnings, (w) => JSON.stringify(w), (w) =>
      log.warn({ object: w.object, field: w.field, source: w.source }, w.message),
    );
    const cni = await readCniCache(options.cniResultsDir);
    report('cni warnings', cni.warnings, (w) => JSON.stringify(w), (w) =>
      log.warn({ object: `file ${w.path}` }, `CNI result cache file ignored: ${w.message}`),
    );

    const inputs = JSON.stringify([[...accepted], cni.bindings]);
    if (kernel?.exact && inputs === syncedInputs) return {};
    const step = syncStep(kernel?.exact ? kernel.plan : undefined, buildSnapshot(cluster), {
      nodeName: options.nodeName,
      bindings: cni.bindings,
    });
    report('compile problems', step.problems, (p) => JSON.stringify(p), (p) =>
      log.warn({ object: p.object, field: p.field, problem: p.kind }, p.message),
    );
    report('unbound pods', step.unboundPods, podKey, (p) =>
      log.warn({ object: `Pod ${podKey(p)}` }, 'local pod has no CNI binding: its source addresses are not checked'),
    );
    // Every sync that brings new inputs into force says which manifests those are, changed rules or not.
    const inForce = { manifestsDigest: manifestsDigest(options.manifestsDir, accepted) };
    if (isEmptyTransaction(step.transaction)) {
      syncedInputs = inputs;
      consecutiveFailures = 0;
      log.info(inForce, 'rules already in force');
      return {};
    }

    const outcome = await runner.apply(step.transaction);
    if (outcome.ok) {
      kernel = { plan: step.desired, exact: true };
      syncedInputs = inputs;
      appliedTransactions++;
      consecutiveFailures = 0;
      log.info({ commands: step.transaction.nftables.length, replacedTables: step.replacesTables, attempts: outcome.attempts, ...inForce }, 'rules applied');
      return {};
    }
    const appliedPlan = kernel?.plan;
    const result = failed();
    const command = outcome.failure.failedCommand;
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
      log.error({ object: 'agent', err: error, retryInMs: result.retryInMs }, 'sync failed; the rules in the kernel stay as they are');
      return result;
    }
  });
  const rescan = setInterval(() => scheduler.changed(), options.rescanIntervalMs);

  log.info(
    { manifests: options.manifestsDir, cniResults: options.cniResultsDir, debounceMs: options.debounceMs, maxDelayMs: options.maxDelayMs },
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
    }),
    dropCounts: async () => {
      const plan = kernel?.plan;
      if (!plan) return [];
      const readings = await runner.readCounters(POLICY_TABLE);
      return readings.flatMap((reading) => {
        const owner = plan.counters[reading.name];
        return owner ? [{ namespace: owner.namespace, pod: owner.pod, direction: owner.direction, packets: reading.packets, bytes: reading.bytes }] : [];
      });
    },
    stop: async () => {
      clearInterval(rescan);
      watchers.close();
      await scheduler.stop();
      await runner.close();
      log.info('agent stopped; its rules stay in the kernel');
    },
  };
}
