// The agent watching a faithful fake API server (over HTTPS, through a kubeconfig) and running the real nft in a
// throwaway network namespace. Each test breaks the watch or the server in one way; every time, the agent must
// end with exactly the plan compilePlan gives for the server's objects, in its memory and in the kernel (the
// kernel's tables are compared with the same plan applied whole in a second namespace).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Agent, type AgentOptions, runAgent, startAgent } from '../../src/agent/index.js';
import { type CompileOptions, compilePlan, fullTransaction, type Plan } from '../../src/compile/index.js';
import { createNftRunner } from '../../src/nft/index.js';
import { readCniCache } from '../../src/node/cni-cache.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { expectedState } from '../kube/expected-state.js';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { changed, rawNamespace, rawPod, rawPolicy } from '../kube/objects.js';
import type { ApiObject, ResourceName } from '../kube/resources.js';
import { FAST_SERVER, FAST_TIMING } from '../kube/watched-cluster.js';
import { type ThrowawayNetns, useThrowawayNetns, writeExecutable } from '../support/netns.js';

const agentNetns = useThrowawayNetns('bhc');
const referenceNetns = useThrowawayNetns('bhr');
const NODE = 'node-a';
const RESOURCES: readonly ResourceName[] = ['namespaces', 'pods', 'networkpolicies'];
let cniResultsDir: string;

const agentRuleset = () => agentNetns.nft('list', 'ruleset');

/**
 * The ruleset as data, without what differs between equal rulesets built differently: handles, element order,
 * and the order of objects in the listing (creation order); rules keep their order within their chain.
 */
function normalizedRuleset(netns: ThrowawayNetns): unknown {
  const place = (item: Record<string, Record<string, unknown>>) => {
    const [kind, object] = Object.entries(item)[0]!;
    return JSON.stringify([kind, object['family'], object['table'], object['chain'] ?? object['name']]);
  };
  // Array sort is stable: rules of one chain stay in their order.
  return [...netns.rulesetData().nftables].sort((a, b) => (place(a) < place(b) ? -1 : place(a) > place(b) ? 1 : 0));
}

function cniResult(namespace: string, name: string, containerId: string, veth: string, ip: string): string {
  return JSON.stringify({
    kind: 'cniCacheV1',
    containerId,
    ifName: 'eth0',
    networkName: 'cbr0',
    cniArgs: [['K8S_POD_NAMESPACE', namespace], ['K8S_POD_NAME', name]],
    result: {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'cni0' }, { name: veth }, { name: 'eth0', sandbox: `/var/run/netns/cni-${containerId}` }],
      ips: [{ version: '4', interface: 2, address: `${ip}/24`, gateway: '10.244.1.1' }],
    },
  });
}

beforeAll(async () => {
  cniResultsDir = join(agentNetns.dir, 'cni');
  await mkdir(cniResultsDir);
  await writeFile(join(cniResultsDir, 'cbr0-aaaa1111-eth0'), cniResult('prod', 'db', 'aaaa1111', 'veth0000db01', '10.244.1.6'));
  await writeFile(join(cniResultsDir, 'cbr0-bbbb2222-eth0'), cniResult('prod', 'api', 'bbbb2222', 'veth0000ap01', '10.244.1.7'));
});

function seed(server: FakeApiServer): void {
  server.create('namespaces', rawNamespace('prod', { env: 'prod' }));
  server.create('namespaces', rawNamespace('dev'));
  server.create('pods', rawPod('prod', 'db', { labels: { app: 'db' }, nodeName: NODE, ips: ['10.244.1.6'], ports: [{ name: 'pg', containerPort: 5432 }] }));
  server.create('pods', rawPod('prod', 'api', { labels: { app: 'api' }, nodeName: NODE, ips: ['10.244.1.7'] }));
  server.create('pods', rawPod('prod', 'web', { labels: { app: 'web' }, nodeName: 'node-b', ips: ['10.244.2.5'] }));
  server.create('pods', rawPod('prod', 'web-2', { labels: { app: 'web' }, nodeName: 'node-c', ips: ['10.244.3.7'] }));
  server.create('pods', rawPod('dev', 'tool', { nodeName: 'node-b', ips: ['10.244.2.20'] }));
  server.create('networkpolicies', rawPolicy('prod', 'allow-db', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'pg' }] }],
  }));
  server.create('networkpolicies', rawPolicy('prod', 'api-egress', {
    podSelector: { matchLabels: { app: 'api' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }],
  }));
}

interface Running {
  readonly server: FakeApiServer;
  readonly agent: Agent;
  readonly logs: Record<string, unknown>[];
}

let running: Running | undefined;
afterEach(async () => {
  await running?.agent.stop();
  await running?.server.close();
  running = undefined;
});

async function kubeconfigFor(server: FakeApiServer): Promise<string> {
  return writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate, token: 'agent-token' }]);
}

async function agentOptions(
  server: FakeApiServer,
  logs: Record<string, unknown>[],
  resyncIntervalMs = FAST_TIMING.resyncIntervalMs,
  extra: Partial<AgentOptions> = {},
): Promise<AgentOptions> {
  return {
    nodeName: NODE,
    source: { kind: 'cluster', connection: { kind: 'kubeconfig', paths: [await kubeconfigFor(server)] }, timing: { ...FAST_TIMING, resyncIntervalMs } },
    cniResultsDir,
    nftPath: agentNetns.nftPath,
    debounceMs: 20,
    maxDelayMs: 200,
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    ...extra,
  };
}

/** A fresh kernel (an earlier run's table in it, when given), a seeded server, and the agent on both. */
async function started(
  options: { earlierRun?: string; resyncIntervalMs?: number; beforeAgent?: (server: FakeApiServer) => Promise<void>; agent?: Partial<AgentOptions> } = {},
): Promise<Running> {
  agentNetns.nft('flush', 'ruleset');
  if (options.earlierRun !== undefined) agentNetns.nftScript(options.earlierRun);
  const server = await startFakeApiServer(FAST_SERVER);
  seed(server);
  await options.beforeAgent?.(server);
  const logs: Record<string, unknown>[] = [];
  const agent = await startAgent(await agentOptions(server, logs, options.resyncIntervalMs, options.agent));
  running = { server, agent, logs };
  return running;
}

/** What compilePlan makes of the server's objects (read as the manifest loader reads them) and the CNI cache. */
async function expectedPlan(server: FakeApiServer, compileOptions: Partial<CompileOptions>): Promise<Plan> {
  const { bindings } = await readCniCache(cniResultsDir);
  return compilePlan(buildSnapshot(expectedState(server).input), { nodeName: NODE, bindings, ...compileOptions }).plan;
}

/** Waits until the agent holds the server's plan, then checks the kernel holds exactly that plan too. */
async function expectConverged({ server, agent }: Running, compileOptions: Partial<CompileOptions> = {}, timeoutMs = 10_000): Promise<Plan> {
  const expected = await expectedPlan(server, compileOptions);
  await vi.waitFor(() => expect(agent.status()).toMatchObject({ applied: expected, exact: true }), { timeout: timeoutMs, interval: 25 });
  referenceNetns.nft('flush', 'ruleset');
  const reference = createNftRunner({ logger: pino({ level: 'silent' }), nftPath: referenceNetns.nftPath });
  try {
    expect(await reference.apply(fullTransaction(expected))).toMatchObject({ ok: true });
  } finally {
    await reference.close();
  }
  expect(normalizedRuleset(agentNetns)).toEqual(normalizedRuleset(referenceNetns));
  return expected;
}

const modified = (server: FakeApiServer, resource: ResourceName, namespace: string | undefined, name: string, change: (copy: ApiObject) => void) =>
  server.update(resource, changed(server.get(resource, namespace, name)!, change));
const spec = (object: ApiObject) => object['spec'] as Record<string, unknown>;
const status = (object: ApiObject) => object['status'] as Record<string, unknown>;

const messages = (logs: readonly Record<string, unknown>[], msg: string) => logs.filter((line) => line['msg'] === msg);
const syncedVersions = (logs: readonly Record<string, unknown>[]) =>
  logs.filter((line) => line['msg'] === 'rules applied' || line['msg'] === 'rules already in force').map((line) => line['resourceVersion']);

async function metricValue(agent: Agent, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const values = (await agent.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const APPS = ['web', 'db', 'api'] as const;
const NAMESPACES = ['prod', 'dev'] as const;
const step = fc.record({
  kind: fc.constantFrom('pod', 'pod-address', 'pod-labels', 'pod-delete', 'policy', 'policy-delete', 'namespace-labels', 'cut', 'compact', 'down', 'up'),
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.integer({ min: 0, max: 5 }),
  node: fc.constantFrom(NODE, 'node-b'),
  app: fc.constantFrom(...APPS),
  peer: fc.constantFrom(...APPS),
  port: fc.constantFrom(80, 5432, 'pg'),
  waitMs: fc.integer({ min: 0, max: 50 }),
});
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** One change to the server's objects (server faults are the caller's: they are asynchronous). */
function applyStep(server: FakeApiServer, change: Step, index: number, address: () => string): void {
  const pod = `r-${change.name}`;
  const existing = server.get('pods', change.namespace, pod);
  switch (change.kind) {
    case 'pod':
      if (existing) server.delete('pods', change.namespace, pod);
      server.create('pods', rawPod(change.namespace, pod, { labels: { app: change.app }, nodeName: change.node, ports: [{ name: 'pg', containerPort: 5432 }] }));
      break;
    case 'pod-address':
      if (existing) {
        modified(server, 'pods', change.namespace, pod, (p) => {
          status(p)['podIPs'] = [{ ip: address() }];
          status(p)['phase'] = 'Running';
        });
      }
      break;
    case 'pod-labels':
      if (existing) modified(server, 'pods', change.namespace, pod, (p) => (p.metadata.labels = { app: change.app }));
      break;
    case 'pod-delete':
      if (existing) server.delete('pods', change.namespace, pod);
      break;
    case 'policy': {
      const spec = {
        podSelector: { matchLabels: { app: change.app } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: change.peer } } }], ports: [{ port: change.port }] }],
      };
      const name = `rp-${change.name}`;
      if (server.get('networkpolicies', change.namespace, name)) {
        modified(server, 'networkpolicies', change.namespace, name, (p) => (p['spec'] = spec));
      } else {
        server.create('networkpolicies', rawPolicy(change.namespace, name, spec));
      }
      break;
    }
    case 'policy-delete':
      if (server.get('networkpolicies', change.namespace, `rp-${change.name}`)) server.delete('networkpolicies', change.namespace, `rp-${change.name}`);
      break;
    case 'namespace-labels':
      modified(server, 'namespaces', undefined, change.namespace, (ns) => (ns.metadata.labels = { ...ns.metadata.labels, step: String(index) }));
      break;
    case 'cut':
      server.dropConnections();
      break;
    case 'compact':
      server.compact();
      break;
    case 'down':
    case 'up':
      break;
    default: {
      const unreachable: never = change.kind;
      throw new Error(`unknown step ${String(unreachable)}`);
    }
  }
}

describe('agent on the Kubernetes API (fake API server, real nft in a netns)', () => {
  it('is ready only once everything is listed and the first plan applied; an earlier run\'s rules stay until then', async () => {
    const earlierRun = 'table inet bulkhead {\n  chain junk { }\n}\n';
    const { server, agent, logs } = await started({ earlierRun, beforeAgent: (s) => s.setDown(true, 'unavailable') });
    await sleep(500);
    expect(agent.status()).toMatchObject({ ready: false, readyReason: 'waiting for the initial list of namespaces, pods and NetworkPolicies', source: 'cluster', appliedTransactions: 0 });
    expect(agent.view()).toBeUndefined();
    expect(agentRuleset()).toMatch(/chain junk/);
    expect(await metricValue(agent, 'bulkhead_ready')).toBe(0);
    expect(await metricValue(agent, 'bulkhead_watch_up', { resource: 'pods' })).toBe(0);
    expect(messages(logs, 'cannot reach the API server yet; the rules of an earlier run stay while the watches retry')).toHaveLength(1);

    await server.setDown(false);
    const plan = await expectConverged(running!);
    expect(agentRuleset()).not.toMatch(/junk/);
    expect(agent.status()).toMatchObject({ ready: true, appliedTransactions: 1, resourceVersion: String(server.resourceVersion) });
    expect(agent.status().readyReason).toBeUndefined();
    expect(agent.status().lastSuccessfulSyncAt).toBeGreaterThan(Date.now() - 10_000);
    expect(agent.view()?.plan).toEqual(plan);
    expect(agent.view()?.snapshot.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(['dev/tool', 'prod/api', 'prod/db', 'prod/web', 'prod/web-2']);
    expect(messages(logs, 'rules applied')).toEqual([expect.objectContaining({ replacedTables: true, resourceVersion: String(server.resourceVersion), node: NODE })]);
    expect((await agent.dropCounts()).sort((a, b) => (a.pod < b.pod ? -1 : 1))).toEqual([
      { namespace: 'prod', pod: 'api', direction: 'egress', packets: 0, bytes: 0 },
      { namespace: 'prod', pod: 'db', direction: 'ingress', packets: 0, bytes: 0 },
    ]);
  });

  it('is not ready while its first plan cannot be applied, and says why', async () => {
    // nft fails its real runs (not the dry runs that locate a failure) while the flag file exists.
    const failing = join(agentNetns.dir, 'nft-fails');
    const flaky = join(agentNetns.dir, 'nft-flaky');
    await writeFile(failing, '');
    await writeExecutable(flaky, `#!/bin/sh\ncase " $* " in *" -c "*) ;; *) if [ -e ${failing} ]; then echo "fault injected" >&2; exit 1; fi;; esac\nexec ${agentNetns.nftPath} "$@"\n`);
    const { agent } = await started({ agent: { nftPath: flaky } });
    await vi.waitFor(() => expect(agent.status().failedSyncs).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
    expect(agent.status()).toMatchObject({ ready: false, readyReason: 'the first plan is not applied yet: fault injected' });
    expect(agent.view()).toBeUndefined();
    expect(await metricValue(agent, 'bulkhead_sync_failures_total')).toBeGreaterThanOrEqual(1);

    await rm(failing);
    await expectConverged(running!);
    expect(agent.status()).toMatchObject({ ready: true, consecutiveFailures: 0 });
  });

  it('serves every metric of the contract from one registry', async () => {
    const { server, agent } = await started();
    await expectConverged(running!);
    await vi.waitFor(() => expect(server.openWatches()).toBe(3));
    await vi.waitFor(async () => expect(await metricValue(agent, 'bulkhead_watch_up', { resource: 'networkpolicies' })).toBe(1));
    const text = await agent.registry.metrics();
    for (const name of [
      'bulkhead_dropped_packets_total{namespace="prod",pod="db",direction="ingress"} 0',
      'bulkhead_dropped_bytes_total{namespace="prod",pod="api",direction="egress"} 0',
      'bulkhead_sync_duration_seconds_count 1',
      'bulkhead_sync_failures_total 0',
      'bulkhead_nft_transactions_total{result="applied"} 1',
      'bulkhead_nft_retries_total 0',
      'bulkhead_watch_restarts_total{resource="pods",reason="expired"} 0',
      'bulkhead_watch_up{resource="pods"} 1',
      'bulkhead_pods 5',
      'bulkhead_namespaces 2',
      'bulkhead_network_policies 2',
      'bulkhead_local_isolated_pods{direction="ingress"} 1',
      'bulkhead_local_isolated_pods{direction="egress"} 1',
      'bulkhead_last_successful_sync_timestamp_seconds ',
      `bulkhead_build_info{version="0.1.0",nodejs="${process.version}"} 1`,
      'bulkhead_ready 1',
    ]) {
      expect(text).toContain(`\n${name}`);
    }
  });

  it('converges after a watch is cut mid-stream, with changes made around the cut', async () => {
    const { server, agent } = await started();
    await expectConverged(running!);
    await vi.waitFor(() => expect(server.openWatches()).toBe(3));
    server.create('pods', rawPod('prod', 'web-3', { labels: { app: 'web' }, nodeName: 'node-b', ips: ['10.244.2.9'] }));
    server.dropConnections();
    server.delete('pods', 'prod', 'web-2');
    modified(server, 'networkpolicies', 'prod', 'allow-db', (p) => {
      spec(p)['ingress'] = [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }] }];
    });
    await expectConverged(running!);
    expect(agentRuleset()).not.toMatch(/10\.244\.3\.7/);
    const restarts = RESOURCES.map((resource) => metricValue(agent, 'bulkhead_watch_restarts_total', { resource, reason: 'error' }));
    expect((await Promise.all(restarts)).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBeGreaterThanOrEqual(1);
  });

  it('sees a deletion missed while disconnected when the history is gone (410 Gone, relist)', async () => {
    const { server, agent } = await started();
    await expectConverged(running!);
    await server.setDown(true, 'refuse');
    server.delete('pods', 'prod', 'web');
    server.create('pods', rawPod('prod', 'web-4', { labels: { app: 'web' }, nodeName: 'node-c', ips: ['10.244.3.40'] }));
    server.compact();
    await server.setDown(false);
    await expectConverged(running!);
    expect(agentRuleset()).not.toMatch(/10\.244\.2\.5\b/);
    expect(agentRuleset()).toMatch(/10\.244\.3\.40/);
    expect(await metricValue(agent, 'bulkhead_watch_restarts_total', { resource: 'pods', reason: 'expired' })).toBe(1);
  });

  it('logs the resourceVersion bookmarks bring, without a transaction when no policy-relevant object changed', async () => {
    const { server, agent, logs } = await started();
    await expectConverged(running!);
    const listedAt = server.resourceVersion;
    // Only the pods watch sees this change, and it changes nothing policy reads; the other two learn of the new
    // resourceVersion from bookmarks alone.
    modified(server, 'pods', 'prod', 'web', (p) => {
      status(p)['conditions'] = [{ type: 'Ready', status: 'False' }];
    });
    expect(server.resourceVersion).toBeGreaterThan(listedAt);
    await vi.waitFor(() => expect(syncedVersions(logs)).toContain(String(server.resourceVersion)), { timeout: 5_000 });
    expect(messages(logs, 'rules already in force').at(-1)).toMatchObject({ resourceVersion: String(server.resourceVersion) });
    expect(agent.status()).toMatchObject({ appliedTransactions: 1, resourceVersion: String(server.resourceVersion) });
    await expectConverged(running!);
  });

  it('takes a newer state over an out-of-date relist from a lagging cache', async () => {
    const { server, agent } = await started({ resyncIntervalMs: 300 });
    await expectConverged(running!);
    server.freezeCache();
    server.delete('pods', 'prod', 'web-2');
    server.create('networkpolicies', rawPolicy('prod', 'deny-tool', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Ingress'] }));
    await expectConverged(running!);
    // The periodic relist asked the frozen cache for a state at least that new, got 504, and read the latest.
    await vi.waitFor(() => expect(server.requests.some((r) => r.verb === 'list' && r.status === 504)).toBe(true), { timeout: 5_000 });
    await vi.waitFor(async () => expect(await metricValue(agent, 'bulkhead_watch_restarts_total', { resource: 'pods', reason: 'resync' })).toBeGreaterThanOrEqual(1));
    await sleep(400);
    await expectConverged(running!);
    expect(agentRuleset()).not.toMatch(/10\.244\.3\.7/);
  });

  it('keeps enforcing the last state while the API server is down, stays ready, and catches up after', async () => {
    // Rescans every 100 ms: syncs run during the outage, and must neither change the rules nor claim a newer state.
    const { server, agent, logs } = await started({ agent: { rescanIntervalMs: 100 } });
    const before = await expectConverged(running!);
    const table = () => agentNetns.nft('list', 'table', 'inet', 'bulkhead');
    const enforced = table();
    await server.setDown(true, 'unavailable');
    server.delete('networkpolicies', 'prod', 'api-egress');
    server.create('pods', rawPod('prod', 'web-5', { labels: { app: 'web' }, nodeName: 'node-b', ips: ['10.244.2.50'] }));
    modified(server, 'namespaces', undefined, 'dev', (ns) => {
      ns.metadata.labels = { ...ns.metadata.labels, team: 'tools' };
    });
    await vi.waitFor(async () => expect(await metricValue(agent, 'bulkhead_watch_up', { resource: 'pods' })).toBe(0), { timeout: 5_000 });
    const lastSync = agent.status().lastSuccessfulSyncAt;
    await sleep(500);
    expect(table()).toBe(enforced);
    expect(agent.status().lastSuccessfulSyncAt).toBe(lastSync);
    expect(agent.status()).toMatchObject({ ready: true, applied: before });
    expect(await metricValue(agent, 'bulkhead_ready')).toBe(1);
    expect(messages(logs, 'lost the API server; the last known state stays in force while the watches retry')).toHaveLength(1);

    await server.setDown(false);
    await expectConverged(running!);
    expect(agentRuleset()).toMatch(/10\.244\.2\.50/);
    expect(agentRuleset()).not.toMatch(/chain pod_out_prod_api/);
    await vi.waitFor(() => expect(messages(logs, 'watching the API server again; changes made meanwhile follow')).toHaveLength(1));
    expect(await metricValue(agent, 'bulkhead_watch_up', { resource: 'pods' })).toBe(1);
  });

  it('makes an invalid policy fail closed beside valid ones, naming the object and field', async () => {
    const { server, logs } = await started();
    await expectConverged(running!);
    server.create('networkpolicies', rawPolicy('prod', 'broken', {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }],
    }));
    await expectConverged(running!);
    // api is isolated for ingress by the broken policy and allowed nothing; db's valid policy is enforced as before.
    const chain = (name: string) => agentNetns.nft('list', 'chain', 'inet', 'bulkhead', name);
    expect(chain('pod_in_prod_api')).not.toMatch(/accept/);
    expect(chain('pod_in_prod_api')).toMatch(/counter name "drop_in_prod_api" drop/);
    expect(chain('pod_in_prod_db')).toMatch(/accept[\s\S]*counter name "drop_in_prod_db" drop/);
    expect(logs).toContainEqual(expect.objectContaining({ object: 'NetworkPolicy prod/broken', errors: [expect.stringMatching(/^spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: /)] }));
    expect(logs).toContainEqual(expect.objectContaining({ object: 'NetworkPolicy prod/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr', problem: 'invalid-policy' }));
  });

  it('fails closed for unknown local pods when asked: the guard is in the plan, and a pod\'s address leaves it once the pod is known', async () => {
    const unknownLocalPods = { podCidrs: ['10.244.1.0/24'] };
    const { server } = await started({ agent: { unknownLocalPods } });
    await expectConverged(running!, { unknownLocalPods });
    expect(agentRuleset()).toMatch(/counter unknown_local_pods/);
    expect(await running!.agent.registry.metrics()).toContain('\nbulkhead_unknown_local_pods_dropped_packets_total 0\n');
    // A pod scheduled here gets its address: from then on it is a known pod, not an unknown address.
    server.create('pods', rawPod('prod', 'new', { labels: { app: 'new' }, nodeName: NODE }));
    modified(server, 'pods', 'prod', 'new', (p) => {
      status(p)['podIPs'] = [{ ip: '10.244.1.30' }];
      status(p)['phase'] = 'Running';
    });
    await expectConverged(running!, { unknownLocalPods });
    expect(agentRuleset()).toMatch(/10\.244\.1\.30/);
  });

  // Random histories of changes, with the connection cut, the history compacted and the server down in between;
  // the agent syncs in the middle of them (each step waits 0-50 ms) and must end with exactly the server's plan.
  for (const seed of [11, 23, 47]) {
    it(`converges after a random history of changes and faults (seed ${seed})`, async () => {
      const { server } = await started();
      await expectConverged(running!);
      const [steps] = fc.sample(fc.array(step, { minLength: 80, maxLength: 80 }), { seed, numRuns: 1 });
      let nextAddress = 100;
      for (const [index, change] of steps!.entries()) {
        applyStep(server, change, index, () => `10.244.${change.node === NODE ? 1 : 2}.${nextAddress++}`);
        if (change.kind === 'down') await server.setDown(true, 'refuse');
        if (change.kind === 'up') await server.setDown(false);
        await sleep(change.waitMs);
      }
      await server.setDown(false);
      await expectConverged(running!, {}, 15_000);
    });
  }

  it('runs until SIGTERM, stops watching, and leaves its rules in the kernel', async () => {
    agentNetns.nft('flush', 'ruleset');
    const server = await startFakeApiServer(FAST_SERVER);
    try {
      seed(server);
      const logs: Record<string, unknown>[] = [];
      const agentRun = runAgent(await agentOptions(server, logs));
      await vi.waitFor(() => expect(messages(logs, 'rules applied')).toHaveLength(1), { timeout: 10_000 });
      const enforced = agentRuleset();
      expect(enforced).toMatch(/chain pod_in_prod_db/);
      process.emit('SIGTERM');
      await agentRun;
      expect(server.openWatches()).toBe(0);
      expect(agentRuleset()).toBe(enforced);
    } finally {
      await server.close();
    }
  });
});
