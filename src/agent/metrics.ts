// The agent's metrics, in the one registry /metrics serves (the nft runner's are there too). What the agent
// already knows (drop counters in the kernel, the watches' status, the plan in force) is read when Prometheus
// scrapes, not copied on every change.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Plan } from '../compile/index.js';
import { type ListWatchStatus, RESOURCE_NAMES, RESTART_REASONS, type ResourceName } from '../kube/index.js';
import type { KernelCounters } from './drop-counts.js';

/** package.json's version: the file sits two levels above this module both in src/ and in dist/. */
const BULKHEAD_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface KnownObjects {
  readonly namespaces: number;
  readonly pods: number;
  readonly policies: number;
}

/** What the metrics read at scrape time. */
export interface AgentMetricsSource {
  /** The named counters of the plan the kernel holds. */
  counters(): Promise<KernelCounters>;
  /** Undefined without watches (the manifests source). */
  watchStatus(): Readonly<Record<ResourceName, ListWatchStatus>> | undefined;
  /** The objects of the state last read; undefined before the first. */
  known(): KnownObjects | undefined;
  /** The plan the kernel holds. */
  applied(): Plan | undefined;
  /** ms since the epoch. */
  lastSuccessfulSyncAt(): number | undefined;
  ready(): boolean;
}

/** What the agent's loop records as it happens. */
export interface AgentMetrics {
  readonly syncSeconds: Histogram;
  readonly syncFailures: Counter;
}

export function createAgentMetrics(registry: Registry, source: AgentMetricsSource, log: Logger): AgentMetrics {
  const registers = [registry];
  let counters: KernelCounters = { drops: [] };
  // One read of the kernel's counters per scrape, shared by the metrics made of them.
  let countersRead: Promise<void> | undefined;
  const readCounters = () =>
    (countersRead ??= source
      .counters()
      .then(
        (read) => {
          counters = read;
        },
        (error: unknown) => log.warn({ object: 'drop counters', err: error }, 'cannot read the drop counters; /metrics shows the last values read'),
      )
      .finally(() => {
        countersRead = undefined;
      }));

  new Counter({
    name: 'bulkhead_dropped_packets_total',
    help: 'Packets dropped by the policies of a local pod, per direction (its named drop counter)',
    labelNames: ['namespace', 'pod', 'direction'] as const,
    registers,
    async collect() {
      await readCounters();
      this.reset();
      for (const d of counters.drops) this.inc({ namespace: d.namespace, pod: d.pod, direction: d.direction }, d.packets);
    },
  });
  new Counter({
    name: 'bulkhead_dropped_bytes_total',
    help: 'Bytes dropped by the policies of a local pod, per direction (its named drop counter)',
    labelNames: ['namespace', 'pod', 'direction'] as const,
    registers,
    async collect() {
      await readCounters();
      this.reset();
      for (const d of counters.drops) this.inc({ namespace: d.namespace, pod: d.pod, direction: d.direction }, d.bytes);
    },
  });
  new Counter({
    name: 'bulkhead_audit_packets_total',
    help: 'Packets that audit-mode policies (bulkhead.io/enforcement: audit) would have dropped and that passed, per local pod, direction and audit policy (its named audit counter)',
    labelNames: ['namespace', 'pod', 'direction', 'policy'] as const,
    registers,
    async collect() {
      await readCounters();
      this.reset();
      for (const a of counters.audits ?? []) this.inc({ namespace: a.namespace, pod: a.pod, direction: a.direction, policy: a.policy }, a.packets);
    },
  });
  new Counter({
    name: 'bulkhead_audit_bytes_total',
    help: 'Bytes that audit-mode policies (bulkhead.io/enforcement: audit) would have dropped and that passed, per local pod, direction and audit policy (its named audit counter)',
    labelNames: ['namespace', 'pod', 'direction', 'policy'] as const,
    registers,
    async collect() {
      await readCounters();
      this.reset();
      for (const a of counters.audits ?? []) this.inc({ namespace: a.namespace, pod: a.pod, direction: a.direction, policy: a.policy }, a.bytes);
    },
  });
  new Counter({
    name: 'bulkhead_unknown_local_pods_dropped_packets_total',
    help: 'Packets dropped from or to an address of this node\'s pod CIDRs that no known pod holds (--unknown-local-pods drop)',
    registers,
    async collect() {
      await readCounters();
      this.reset();
      if (counters.unknownLocalPods) this.inc(counters.unknownLocalPods.packets);
    },
  });
  new Counter({
    name: 'bulkhead_unknown_local_pods_dropped_bytes_total',
    help: 'Bytes dropped from or to an address of this node\'s pod CIDRs that no known pod holds (--unknown-local-pods drop)',
    registers,
    async collect() {
      await readCounters();
      this.reset();
      if (counters.unknownLocalPods) this.inc(counters.unknownLocalPods.bytes);
    },
  });

  const syncSeconds = new Histogram({
    name: 'bulkhead_sync_duration_seconds',
    help: 'Time of one sync that compiled the state: snapshot, compile, diff and the nft transaction',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const syncFailures = new Counter({
    name: 'bulkhead_sync_failures_total',
    help: 'Syncs that did not bring the kernel in line with the state (the previous rules stayed)',
    registers,
  });

  new Counter({
    name: 'bulkhead_watch_restarts_total',
    help: 'Watches of the API server opened again, per resource and reason (closed, error, stalled, expired, resync)',
    labelNames: ['resource', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      const status = source.watchStatus();
      if (!status) return;
      for (const resource of RESOURCE_NAMES) {
        for (const reason of RESTART_REASONS) this.inc({ resource, reason }, status[resource].restarts[reason]);
      }
    },
  });
  new Gauge({
    name: 'bulkhead_watch_up',
    help: 'Whether the list/watch of a resource is answered now (1) or failing and retrying (0)',
    labelNames: ['resource'] as const,
    registers,
    collect() {
      this.reset();
      const status = source.watchStatus();
      if (!status) return;
      for (const resource of RESOURCE_NAMES) this.set({ resource }, status[resource].up ? 1 : 0);
    },
  });

  const knownGauge = (name: string, help: string, count: (known: KnownObjects) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const known = source.known();
        this.set(known ? count(known) : 0);
      },
    });
  knownGauge('bulkhead_pods', 'Pods of the cluster the agent knows (every node\'s: peers included)', (k) => k.pods);
  knownGauge('bulkhead_namespaces', 'Namespaces the agent knows', (k) => k.namespaces);
  knownGauge('bulkhead_network_policies', 'NetworkPolicies the agent knows, invalid ones (failing closed) included', (k) => k.policies);

  new Gauge({
    name: 'bulkhead_local_isolated_pods',
    help: 'Pods of this node isolated by some policy, per direction, in the rules the kernel holds',
    labelNames: ['direction'] as const,
    registers,
    collect() {
      const owners = Object.values(source.applied()?.counters ?? {});
      for (const direction of ['ingress', 'egress'] as const) this.set({ direction }, owners.filter((o) => o.direction === direction).length);
    },
  });
  new Gauge({
    name: 'bulkhead_last_successful_sync_timestamp_seconds',
    help: 'When a sync last brought the kernel in line with a newer state: a change, or (API source) a newer resourceVersion, which bookmarks advance about once a minute (0: never)',
    registers,
    collect() {
      this.set((source.lastSuccessfulSyncAt() ?? 0) / 1_000);
    },
  });
  new Gauge({
    name: 'bulkhead_build_info',
    help: 'The running Bulkhead version and Node.js runtime (always 1)',
    labelNames: ['version', 'nodejs'] as const,
    registers,
  }).set({ version: BULKHEAD_VERSION, nodejs: process.version }, 1);
  new Gauge({
    name: 'bulkhead_ready',
    help: 'Whether the agent is ready (1): the cluster state is listed and its first plan applied',
    registers,
    collect() {
      this.set(source.ready() ? 1 : 0);
    },
  });

  return { syncSeconds, syncFailures };
}
