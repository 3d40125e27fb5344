// Faults, each with probes running all along (every 50 ms, both directions across the two nodes, IPv4 and
// IPv6): a pair that must stay allowed never fails and a pair that must stay denied never gets an answer, while
//   (a) both agents are killed with SIGKILL and restarted: the rules stay while they are dead, and each restarted
//       agent replaces them in one transaction;
//   (b) the API server is down for a while (refusing, or answering 503) and a policy changes meanwhile: the kernel
//       keeps the old rules, and the change is enforced once the server is back;
//   (c) nft fails (a wrapper that fails the next N transactions, then is nft): the previous rules hold, the agent
//       retries with backoff and converges, and its log and metrics say so;
//   (d) the API hands out an invalid NetworkPolicy (selector operator "Has", which etcd can hold from before a
//       validation rule) beside a valid one: its pods are isolated and admit nothing, the valid one is enforced,
//       and the log names the object and the field.
// Real agents (the built CLI) in lab nodes, watching the fake API server through the lab's forwarders.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BINDING_TABLE, POLICY_TABLE } from '../../src/compile/index.js';
import { ensureBuiltCli, requireTools } from './harness.js';
import { type LabApi, startLabApi } from '../lab/api.js';
import { LabAgent, waitForResourceVersion } from '../lab/agents.js';
import { describeViolations, type ProbePair, type ProbeRun, startContinuousProbes } from '../lab/continuous-probes.js';
import { createLab, type Lab, type LabPod } from '../lab/lab.js';

const NS = 'faults';
const HTTP = 80;
const ALT = 8080;
const PROBE_INTERVAL_MS = 50;

let lab: Lab;
let api: LabApi;
let agents: LabAgent[] = [];
const pods: Record<string, LabPod> = {};
let nftWrapper: string;

/** The budget file of a node's nft wrapper: how many transactions still fail. */
const budgetFile = (node: string) => join(lab.dir, node, 'nft-failures');

function policy(name: string, spec: Record<string, unknown>): string {
  return stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: NS }, spec });
}

const fromApp = (app: string, port = HTTP) => ({ from: [{ podSelector: { matchLabels: { app } } }], ports: [{ port, protocol: 'TCP' }] });

const BASE_POLICIES = [
  policy('web-ingress', { podSelector: { matchLabels: { app: 'web' } }, ingress: [fromApp('client')] }),
  policy('client-ingress', { podSelector: { matchLabels: { app: 'client' } }, ingress: [fromApp('web')] }),
  policy('blocked-ingress', { podSelector: { matchLabels: { app: 'blocked' } }, policyTypes: ['Ingress'] }),
].join('---\n');

/**
 * Allowed: client (node1) <-> web (node2), each isolated for ingress and admitting the other, so each direction
 * needs an accept rule on one node. Denied: blocked (node1) <-> web (node2), each direction dropped on one node.
 */
function pairs(): ProbePair[] {
  const { client, web, blocked } = pods as Record<'client' | 'web' | 'blocked', LabPod>;
  const pair = (from: LabPod, to: LabPod, expect: 'allowed' | 'denied'): ProbePair[] => [
    { name: `${from.name} -> ${to.name} (IPv4)`, from, toIP: to.ipv4, port: HTTP, proto: 'tcp', expect },
    { name: `${from.name} -> ${to.name} (IPv6)`, from, toIP: to.ipv6, port: HTTP, proto: 'tcp', expect },
  ];
  return [...pair(client, web, 'allowed'), ...pair(web, client, 'allowed'), ...pair(blocked, web, 'denied'), ...pair(web, blocked, 'denied')];
}

async function startAgent(node: string): Promise<LabAgent> {
  return LabAgent.start(lab, lab.node(node), {
    source: { kind: 'api', kubeconfig: api.kubeconfig },
    debounceMs: 20,
    env: { BULKHEAD_NFT: nftWrapper, BULKHEAD_TEST_NFT_BUDGET: budgetFile(node) },
  });
}

/** A fault-injecting nft: runs with -f and without -c (transactions, not dry runs) fail while the budget lasts. */
function writeNftWrapper(): string {
  const realNft = execFileSync('sh', ['-c', 'command -v nft'], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } }).trim();
  const path = join(lab.dir, 'nft-failing');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `# Fails the next N nft transactions (N in $BULKHEAD_TEST_NFT_BUDGET), then is ${realNft}.`,
      'case " $* " in *" -c "*) exec ' + realNft + ' "$@" ;; esac',
      'case " $* " in *" -f "*)',
      '  left=$(cat "$BULKHEAD_TEST_NFT_BUDGET" 2>/dev/null || echo 0)',
      '  if [ "$left" -gt 0 ]; then',
      '    echo $((left - 1)) > "$BULKHEAD_TEST_NFT_BUDGET"',
      '    echo "Error: Could not process rule: Device or resource busy (injected by the test, $left left)" >&2',
      '    exit 1',
      '  fi ;;',
      'esac',
      `exec ${realNft} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}

/** One sample of the agent's /metrics (served in its node's namespace on the default port), 0 when absent. */
async function metric(node: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const scraped = await lab.exec(lab.node(node), ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:9650/metrics']);
  if (scraped.code !== 0) throw new Error(`${node}: /metrics: ${scraped.stderr.trim()}`);
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of scraped.stdout.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return 0;
}

/**
 * No violation, and every pair probed all along: at least a quarter as often as the interval allows (the machine
 * is shared and its event loop lags under load, measured down to a third; a stalled prober must not pass for a
 * quiet one).
 */
function expectHeld(run: ProbeRun): void {
  expect(run.violations, describeViolations(run)).toEqual([]);
  const least = Math.floor(run.durationMs / PROBE_INTERVAL_MS / 4);
  for (const pair of run.pairs) expect(run.sent[pair.name], `${pair.name} probed ${run.sent[pair.name]} times in ${run.durationMs} ms`).toBeGreaterThanOrEqual(least);
}

async function applyAndWait(manifests: string): Promise<number> {
  const { resourceVersion } = await api.apply(manifests);
  await waitForResourceVersion(agents, resourceVersion);
  return resourceVersion;
}

beforeAll(async () => {
  requireTools(['socat', 'ss', 'curl']);
  ensureBuiltCli();
  lab = await createLab({ nodes: 2, outside: false });
  api = await startLabApi(lab, { bookmarkIntervalMs: 200 });
  nftWrapper = writeNftWrapper();
  for (const node of lab.nodes) writeFileSync(budgetFile(node.name), '0\n');
  const layout = [
    ['client', 'node1'],
    ['blocked', 'node1'],
    ['web', 'node2'],
    ['late-refuse', 'node2'],
    ['late-unavailable', 'node1'],
    ['guarded', 'node2'],
  ] as const;
  for (const [name, node] of layout) {
    const pod = await lab.addPod({ namespace: NS, name, node, labels: { app: name } });
    pods[name] = pod;
    await lab.startServer(pod, HTTP, 'tcp');
    await api.registerPod(pod, { ports: [{ containerPort: HTTP, protocol: 'TCP' }] });
  }
  await lab.startServer(pods['web']!, ALT, 'tcp');
  agents = await Promise.all(lab.nodes.map((node) => startAgent(node.name)));
  await applyAndWait(BASE_POLICIES);
});

afterAll(async () => {
  try {
    await Promise.all(agents.map((agent) => agent.process.stop()));
    await api?.close();
  } finally {
    await lab?.destroy();
  }
});

describe('faults, with probes running all along', () => {
  it('the pairs hold before any fault', async () => {
    const probes = startContinuousProbes(lab, pairs(), { intervalMs: PROBE_INTERVAL_MS });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const run = await probes.stop();
    expectHeld(run);
  });

  it('(a) agents killed with SIGKILL: the rules stay, and each restarted agent replaces them in one transaction', async () => {
    const probes = startContinuousProbes(lab, pairs(), { intervalMs: PROBE_INTERVAL_MS });
    await new Promise((resolve) => setTimeout(resolve, 300));
    probes.phase('agents dead');
    await Promise.all(agents.map((agent) => agent.kill()));
    expect(agents.map((agent) => agent.exit?.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    // A killed agent cleans nothing up: its tables stay, and the probes show they keep enforcing.
    for (const node of lab.nodes) {
      for (const table of [POLICY_TABLE, BINDING_TABLE]) {
        const listed = await lab.exec(node, ['nft', 'list', 'table', table.family, table.name]);
        expect(listed.code, `${node.name}: ${listed.stderr}`).toBe(0);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    probes.phase('agents restarting');
    agents = await Promise.all(lab.nodes.map((node) => startAgent(node.name)));
    await waitForResourceVersion(agents, api.server.resourceVersion);
    probes.phase('agents restarted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await probes.stop();

    expectHeld(run);
    for (const agent of agents) {
      const inForce = agent.log.withMessage(/^rules (applied|already in force)$/);
      // The first sync of a new agent knows nothing of what the kernel holds: it rebuilds the tables, atomically.
      expect(inForce[0], agent.report()).toMatchObject({ msg: 'rules applied', replacedTables: true, attempts: 1 });
      expect(await metric(agent.node.name, 'bulkhead_ready')).toBe(1);
    }
  });

  // refuse: nothing listens (a crashed server; through the forwarders, a connection that closes at once);
  // unavailable: every request answered 503 (a server behind a load balancer, or one starting up).
  it.each(['refuse', 'unavailable'] as const)(
    '(b) API server down (%s): the kernel keeps the old rules; a change made meanwhile is enforced on its return',
    async (mode) => {
      const client = pods['client']!;
      const late = pods[`late-${mode}`]!;
      const since = agents.map((agent) => (agent.log.read(), agent.log.entries.length));
      const logSince = (i: number, msg: RegExp) => agents[i]!.log.entries.slice(since[i]).filter((e) => msg.test(e.msg));
      expect(await lab.probe(client, late.ipv4, HTTP, 'tcp')).toBe('connected');
      const probes = startContinuousProbes(lab, pairs(), { intervalMs: PROBE_INTERVAL_MS });
      await new Promise((resolve) => setTimeout(resolve, 300));
      probes.phase(`API server down (${mode})`);
      await api.server.setDown(true, mode);
      const { resourceVersion } = await api.apply(policy(`${late.name}-isolated`, { podSelector: { matchLabels: { app: late.name } }, policyTypes: ['Ingress'] }));
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // Nobody could tell the agents: what they enforce is what they last knew.
      expect(await lab.probe(client, late.ipv4, HTTP, 'tcp')).toBe('connected');
      for (const [i, agent] of agents.entries()) {
        agent.log.read();
        expect(agent.log.resourceVersion, agent.report()).toBeLessThan(resourceVersion);
        expect(logSince(i, /lost the API server/).length, agent.report()).toBe(1);
        // Ready stays: the kernel is right as far as the agent knows; the watches say they are down.
        expect(await metric(agent.node.name, 'bulkhead_ready')).toBe(1);
        for (const resource of ['namespaces', 'pods', 'networkpolicies']) expect(await metric(agent.node.name, 'bulkhead_watch_up', { resource })).toBe(0);
      }
      probes.phase('API server back');
      await api.server.setDown(false);
      await waitForResourceVersion(agents, resourceVersion);
      probes.phase('change enforced');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const run = await probes.stop();

      expectHeld(run);
      expect(await lab.probe(client, late.ipv4, HTTP, 'tcp', { timeoutMs: 300 })).toBe('timeout');
      for (const [i, agent] of agents.entries()) {
        expect(logSince(i, /watching the API server again/).length, agent.report()).toBe(1);
        for (const resource of ['namespaces', 'pods', 'networkpolicies']) expect(await metric(agent.node.name, 'bulkhead_watch_up', { resource })).toBe(1);
      }
    },
  );

  it('(c) nft failing: the previous rules hold, the agent retries with backoff and converges', async () => {
    const { client, web } = pods as Record<'client' | 'web', LabPod>;
    expect(await lab.probe(client, web.ipv4, ALT, 'tcp', { timeoutMs: 300 })).toBe('timeout');
    const node2 = agents.find((agent) => agent.node.name === 'node2')!;
    node2.log.read();
    const before = node2.log.entries.length;
    const counters = async () => ({
      retries: await metric('node2', 'bulkhead_nft_retries_total'),
      failed: await metric('node2', 'bulkhead_nft_transactions_total', { result: 'failed' }),
      syncFailures: await metric('node2', 'bulkhead_sync_failures_total'),
    });
    const countersBefore = await counters();
    const probes = startContinuousProbes(lab, pairs(), { intervalMs: PROBE_INTERVAL_MS });
    await new Promise((resolve) => setTimeout(resolve, 300));
    probes.phase('nft failing on node2');
    // Four runs of one transaction fail (the runner's attempts), then the agent's next sync fails once more.
    writeFileSync(budgetFile('node2'), '5\n');
    const resourceVersion = await applyAndWait(
      policy('web-ingress', { podSelector: { matchLabels: { app: 'web' } }, ingress: [fromApp('client'), fromApp('client', ALT)] }),
    );
    probes.phase('converged');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await probes.stop();

    expectHeld(run);
    expect(readFileSync(budgetFile('node2'), 'utf8').trim()).toBe('0');
    expect(await lab.probe(client, web.ipv4, ALT, 'tcp')).toBe('connected');
    const during = node2.log.entries.slice(before);
    const messages = during.map((e) => e.msg);
    expect(messages.filter((m) => m === 'nft transaction failed; retrying').length, node2.report()).toBe(4);
    expect(messages.filter((m) => m === 'nft transaction failed after retries; previous ruleset kept').length).toBe(1);
    expect(messages.filter((m) => /^rules not applied/.test(m)).length).toBe(1);
    const applied = during.filter((e) => e.msg === 'rules applied');
    expect(applied.at(-1), node2.report()).toMatchObject({ attempts: 2, replacedTables: true, resourceVersion: String(resourceVersion) });
    // Three retries of the first transaction, which then failed; one retry of the next sync's, which applied.
    const countersAfter = await counters();
    expect({
      retries: countersAfter.retries - countersBefore.retries,
      failed: countersAfter.failed - countersBefore.failed,
      syncFailures: countersAfter.syncFailures - countersBefore.syncFailures,
    }).toEqual({ retries: 4, failed: 1, syncFailures: 1 });
  });

  it('(d) an invalid NetworkPolicy beside a valid one: its pods are isolated and admit nothing, the valid one is enforced', async () => {
    const { client, web, guarded } = pods as Record<'client' | 'web' | 'guarded', LabPod>;
    expect(await lab.probe(client, guarded.ipv4, HTTP, 'tcp')).toBe('connected');
    const probes = startContinuousProbes(lab, pairs(), { intervalMs: PROBE_INTERVAL_MS });
    probes.phase('invalid policy applied');
    // What `kubectl apply` could not send today, but etcd can hold from before validation tightened.
    const broken = policy('broken', {
      podSelector: { matchLabels: { app: 'guarded' } },
      ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Has', values: ['client'] }] } }] }],
    });
    const valid = policy('guarded-from-web', { podSelector: { matchLabels: { app: 'guarded' } }, ingress: [fromApp('web')] });
    await applyAndWait([broken, valid].join('---\n'));
    probes.phase('enforced');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await probes.stop();

    expectHeld(run);
    expect(await lab.probe(client, guarded.ipv4, HTTP, 'tcp', { timeoutMs: 300 })).toBe('timeout');
    expect(await lab.probe(web, guarded.ipv4, HTTP, 'tcp')).toBe('connected');
    const node2 = agents.find((agent) => agent.node.name === 'node2')!;
    const named = node2.log.entries.filter((e) => e['object'] === `NetworkPolicy ${NS}/broken`);
    expect(named, node2.report()).toContainEqual(
      expect.objectContaining({ field: 'spec.ingress[0].from[0].podSelector.matchExpressions[0].operator', msg: expect.stringContaining('Has') }),
    );
    for (const agent of agents) expect(agent.exit).toBeUndefined();
  });
});
