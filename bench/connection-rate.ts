// Benchmark: what Bulkhead's rules cost new connections (target: the rate with rules >= 0.95 of the rate
// without, at every size, "without" being the same lab with conntrack on and the `inet bulkhead` table absent).
// The netns lab runs six Flannel-like nodes built alike, in one kernel, as three sides of two nodes each:
//   with:    node1 and node2 hold the compiled plans of a generated cluster (both tables, as the agent applies them)
//   binding: node3 and node4 hold only their pods' source-binding table `bridge bulkhead`: the issue's "without"
//   none:    node5 and node6 hold no Bulkhead table at all, so what the binding table costs shows too
// Conntrack is on everywhere (the lab's masquerade tables need it, and every run checks that it tracks the
// connections). On each side a client pod opens TCP connections one after another (bench/connect-load.py) to a
// server on its own node (same-node) or on the other node of its side (cross-node), for a fixed time. One client
// process serves the three sides, taking turns of 50 connections (a few milliseconds) ABCCBA, so drift and the
// other work on the machine fall on every side alike; nothing is reloaded between runs.
// The probing pods are isolated both ways and their policy sorts last among those that select them, so a SYN
// walks the whole pod chain, and the rule that lets it pass looks it up in the set of every pod of the cluster.
// First an A/A calibration: no rules on any side, its ratios are the method's own error.
// Run: npx tsx bench/connection-rate.ts [seconds per run = 4] [grid: default|full]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { type Plan, compilePlan, fullTransaction, podChainName } from '../src/compile/index.js';
import type { Direction, NetworkPolicy, Pod } from '../src/model/types.js';
import { createNftRunner, type NftRunner } from '../src/nft/index.js';
import { readCniCache } from '../src/node/cni-cache.js';
import { buildSnapshot } from '../src/snapshot/snapshot.js';
import { createLab, type Lab, type LabNode, type LabPod } from '../test/lab/lab.js';
import { modelPod } from '../test/lab/model-pod.js';
import { generateCluster } from './cluster-generator.js';
import { describeMachine } from './machine.js';
import { planSize } from './plan-size.js';
import { median, round } from './stats.js';

const seconds = Number(process.argv[2] ?? 4);
const gridName = process.argv[3] ?? 'default';

interface Size {
  readonly policies: number;
  readonly pods: number;
}
const GRIDS: Readonly<Record<string, readonly Size[]>> = {
  // The three scales, and the two corners that tell set size from policy count.
  default: [
    { policies: 10, pods: 100 },
    { policies: 1_000, pods: 10_000 },
    { policies: 10_000, pods: 100_000 },
    { policies: 10, pods: 100_000 },
    { policies: 10_000, pods: 100 },
  ],
  full: [10, 1_000, 10_000].flatMap((policies) => [100, 10_000, 100_000].map((pods) => ({ policies, pods }))),
};

const PORT = 8080;
const NAMESPACE = 'ns-0';
const PODS_PER_NODE = 100;
const POLICIES_PER_NAMESPACE = 10;
// Five runs a path and mode, their median reported: three left single sizes 1-2 % apart from run to run.
const REPEATS = 5;
const PYTHON = '/usr/bin/python3';
// The client and every server run on this one CPU: where the scheduler puts a client relative to its server
// (same CPU or not) moves connect latency by half, and would otherwise differ from run to run.
const PINNED = ['taskset', '-c', '1'] as const;
const LOAD_SCRIPT = fileURLToPath(new URL('./connect-load.py', import.meta.url));
const MODES = ['with', 'binding', 'none'] as const;
type Mode = (typeof MODES)[number];
/** The ratios reported: the target's (with ÷ binding: only `inet bulkhead` differs), and each against no table. */
const RATIOS = [
  ['with', 'binding'],
  ['with', 'none'],
  ['binding', 'none'],
] as const satisfies readonly (readonly [Mode, Mode])[];
const NODES: Readonly<Record<Mode, readonly [string, string]>> = {
  with: ['node1', 'node2'],
  binding: ['node3', 'node4'],
  none: ['node5', 'node6'],
};
const POD_PREFIX: Readonly<Record<Mode, string>> = { with: 'probe', binding: 'baseline', none: 'bare' };
const PATHS = ['same-node', 'cross-node'] as const;
type PathName = (typeof PATHS)[number];
// More failed connects than this means the plan or the machine is broken, not slow.
const MAX_FAILURE_SHARE = 0.001;

interface LoadRun {
  readonly netns: string;
  readonly connections: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** One side's pods: a client, a server on the client's node, a server on the side's other node. */
interface Side {
  readonly client: LabPod;
  readonly localServer: LabPod;
  readonly remoteServer: LabPod;
}

const execFileAsync = promisify(execFile);
const log = (message: string) => process.stderr.write(`[connection-rate] ${message}\n`);

async function main(): Promise<void> {
  const grid = GRIDS[gridName];
  if (grid === undefined) throw new Error(`unknown grid ${gridName}: one of ${Object.keys(GRIDS).join(', ')}`);
  const machine = describeMachine();
  const started = performance.now();
  const lab = await createLab({ nodes: 6, outside: false });
  const servers: ChildProcess[] = [];
  const runners: NftRunner[] = [];
  try {
    const sides = {} as Record<Mode, Side>;
    for (const mode of MODES) {
      const [node, other] = NODES[mode];
      const prefix = POD_PREFIX[mode];
      sides[mode] = {
        client: await lab.addPod({ namespace: NAMESPACE, name: `${prefix}-client`, node }),
        localServer: await lab.addPod({ namespace: NAMESPACE, name: `${prefix}-server-local`, node }),
        remoteServer: await lab.addPod({ namespace: NAMESPACE, name: `${prefix}-server-remote`, node: other }),
      };
    }
    // On node1 and in no snapshot: no peer set holds its address, so the local server's chain must drop it.
    const stranger = await lab.addPod({ namespace: NAMESPACE, name: 'stranger', node: 'node1' });
    for (const mode of MODES) {
      for (const server of [sides[mode].localServer, sides[mode].remoteServer]) servers.push(await startServer(server));
    }
    const tableNode = async (name: string) => {
      const node = lab.node(name);
      const runner = createNftRunner({ logger: pino({ level: 'silent' }), nftPath: lab.nftPath(node) });
      runners.push(runner);
      return { node, runner, bindings: (await readCniCache(node.cniResultsDir)).bindings };
    };
    const enforcing = await Promise.all(NODES.with.map(tableNode));
    const baseline = await Promise.all(NODES.binding.map(tableNode));

    // A/A first: no rules on any side. Its ratios are what the sides differ by when nothing does.
    log('calibration: no rules on any side');
    await checkReachability(lab, sides, stranger, 'connected');
    const calibrationRuns = await alternateRuns(lab, sides);
    const calibration = Object.fromEntries(PATHS.map((path) => [path, comparison(calibrationRuns.runs[path])]));

    // The binding side's tables: its own pods' source bindings, the same at every size.
    const baselineSnapshot = buildSnapshot(baselineCluster(sides.binding));
    await Promise.all(
      baseline.map(async ({ node, runner, bindings }) => {
        const plan = compilePlan(baselineSnapshot, { nodeName: node.name, bindings }).plan;
        const bindingOnly = { ...plan, tables: plan.tables.filter((table) => table.family === 'bridge') };
        assertBinds(bindingOnly, node.name === sides.binding.client.node ? sides.binding.client : sides.binding.remoteServer);
        await applyPlan(node, runner, bindingOnly);
      }),
    );

    const points = [];
    for (const size of grid) {
      log(`${size.policies} policies, ${size.pods} pods`);
      const compileStart = performance.now();
      const snapshot = buildSnapshot(clusterWithProbes(size, sides.with));
      const plans = enforcing.map(({ node, bindings }) => compilePlan(snapshot, { nodeName: node.name, bindings }).plan);
      const compileMs = performance.now() - compileStart;
      const [plan1, plan2] = plans as [Plan, Plan];
      const applyStart = performance.now();
      await Promise.all(enforcing.map(({ node, runner }, i) => applyPlan(node, runner, plans[i]!)));
      const applyMs = performance.now() - applyStart;
      await checkReachability(lab, sides, stranger, 'timeout');

      const { runs, tracked } = await alternateRuns(lab, sides);
      points.push({
        policies: size.policies,
        pods: size.pods,
        compileMs: round(compileMs),
        nftApplyMs: round(applyMs),
        plan: { node1: planSize(plan1), node2: planSize(plan2) },
        chains: {
          clientEgress: probeChain(plan1, sides.with.client, 'egress', 'zz-probe-egress'),
          localServerIngress: probeChain(plan1, sides.with.localServer, 'ingress', 'zz-probe-ingress'),
          remoteServerIngress: probeChain(plan2, sides.with.remoteServer, 'ingress', 'zz-probe-ingress'),
        },
        conntrackEntriesAfterRun: Object.fromEntries(MODES.map((mode) => [mode, median(tracked[mode])])),
        paths: Object.fromEntries(PATHS.map((path) => [path, comparison(runs[path])])),
      });
    }

    console.log(
      JSON.stringify(
        {
          benchmark: 'connection-rate',
          date: new Date().toISOString(),
          machine,
          loadAverageAtEnd: os.loadavg().map((load) => round(load)),
          secondsPerRun: seconds,
          runsPerMode: REPEATS,
          wallSeconds: round((performance.now() - started) / 1000, 1),
          calibration,
          points,
        },
        null,
        2,
      ),
    );
  } finally {
    for (const server of servers) server.kill('SIGKILL');
    await Promise.all(runners.map((runner) => runner.close()));
    await lab.destroy();
  }
}

/** Every side's client against its servers on one path, REPEATS times a path; conntrack checked on every side. */
async function alternateRuns(lab: Lab, sides: Record<Mode, Side>) {
  const byMode = (): Record<Mode, LoadRun[]> => ({ with: [], binding: [], none: [] });
  const runs: Record<PathName, Record<Mode, LoadRun[]>> = { 'same-node': byMode(), 'cross-node': byMode() };
  const tracked: Record<Mode, number[]> = { with: [], binding: [], none: [] };
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const path of PATHS) {
      const server = (mode: Mode) => (path === 'same-node' ? sides[mode].localServer : sides[mode].remoteServer);
      const serverNodes = MODES.map((mode) => lab.node(server(mode).node));
      await Promise.all(serverNodes.map((node) => conntrack(lab, node, '-F')));
      const figures = await alternateLoad(MODES.map((mode) => ({ from: sides[mode].client, to: server(mode) })));
      for (const [i, mode] of MODES.entries()) {
        const entries = Number((await conntrack(lab, serverNodes[i]!, '-C')).trim());
        if (!(entries > 0)) throw new Error(`${mode}, ${path}: conntrack tracks nothing on ${serverNodes[i]!.name}`);
        tracked[mode].push(entries);
        const run = figures[i]!;
        runs[path][mode].push(run);
        log(`  ${mode.padEnd(7)} ${path.padEnd(10)} ${Math.round(run.perSecond)} conn/s, p50 ${run.p50Us} us, p99 ${run.p99Us} us`);
      }
    }
  }
  return { runs, tracked };
}

/** The generated cluster, with the probing pods and the two policies that let the client reach the servers. */
function clusterWithProbes(size: Size, probes: Side) {
  const generated = generateCluster({
    pods: size.pods,
    policies: size.policies,
    namespaces: Math.max(1, Math.round(size.policies / POLICIES_PER_NAMESPACE)),
    nodes: Math.max(3, Math.round(size.pods / PODS_PER_NODE)),
    placement: 'scattered',
  });
  // Generated node-1 and node-2 are the lab's enforcing nodes: they get their share of local pods, chains and all.
  const labNodeNames: Readonly<Record<string, string>> = { 'node-1': 'node1', 'node-2': 'node2' };
  const pods: Pod[] = generated.pods.map((pod) => {
    const labNode = pod.nodeName === undefined ? undefined : labNodeNames[pod.nodeName];
    return labNode === undefined ? pod : { ...pod, nodeName: labNode };
  });
  const probePod = (pod: LabPod, role: string, tier: string): Pod =>
    modelPod(pod, {
      labels: { app: 'app-0', tier, 'prometheus.io/scrape': 'true', 'bench-role': role },
      ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
    });
  pods.push(
    probePod(probes.client, 'client', 'frontend'),
    probePod(probes.localServer, 'server', 'backend'),
    probePod(probes.remoteServer, 'server', 'backend'),
  );
  // namespaceSelector {} alone: every pod of the cluster, the largest peer set there is.
  const everyPod = [{ kind: 'pods' as const, namespaceSelector: { matchLabels: {}, matchExpressions: [] } }];
  const ports = [{ protocol: 'TCP' as const, port: PORT }];
  // `zz-` sorts after the generated policies: the probe's rule comes last in its pod chains.
  const probePolicy = (name: string, role: string, direction: Direction): NetworkPolicy => ({
    namespace: NAMESPACE,
    name,
    podSelector: { matchLabels: { 'bench-role': role }, matchExpressions: [] },
    policyTypes: [direction],
    ingress: direction === 'ingress' ? [{ peers: everyPod, ports }] : [],
    egress: direction === 'egress' ? [{ peers: everyPod, ports }] : [],
    annotations: {},
    errors: [],
  });
  return {
    namespaces: generated.namespaces,
    pods,
    policies: [...generated.policies, probePolicy('zz-probe-egress', 'client', 'egress'), probePolicy('zz-probe-ingress', 'server', 'ingress')],
  };
}

/** The binding side's pods, alone: its nodes' source-binding tables need only their own pods. */
function baselineCluster(side: Side) {
  return {
    namespaces: [{ name: NAMESPACE, implicit: false, labels: { 'kubernetes.io/metadata.name': NAMESPACE } }],
    pods: [side.client, side.localServer, side.remoteServer].map((pod) => modelPod(pod)),
    policies: [],
  };
}

/** The plan binds the pod's veth to its address: the binding side's baseline really holds the binding table. */
function assertBinds(plan: Plan, pod: LabPod): void {
  const set = plan.tables.find((t) => t.family === 'bridge')?.sets.find((s) => s.name === 'pod_src4');
  const bound = set?.elements.some((e) => JSON.stringify(e) === JSON.stringify({ concat: [pod.hostVeth, pod.ipv4] }));
  if (!bound) throw new Error(`the binding table of ${pod.node} does not bind ${pod.label} (${pod.hostVeth}, ${pod.ipv4})`);
}

/** How long the probing pod's chain is, where the probe policy's rule sits in it, and how big its peer set is. */
function probeChain(plan: Plan, pod: LabPod, direction: Direction, policyName: string) {
  const table = plan.tables.find((t) => t.family === 'inet');
  const chain = table?.chains.find((c) => c.name === podChainName(pod, direction));
  if (table === undefined || chain === undefined) throw new Error(`no ${direction} chain for ${pod.label}: the probing pod is not isolated`);
  const position = chain.rules.findIndex((rule) => rule.comment?.startsWith(`${NAMESPACE}/${policyName} `));
  const rule = chain.rules[position];
  if (rule === undefined) throw new Error(`the ${direction} chain of ${pod.label} has no rule of ${policyName}`);
  const setNames = [...JSON.stringify(rule.expr).matchAll(/"@([A-Za-z0-9_]+)"/g)].map((m) => m[1]!);
  const sets = table.sets.filter((set) => setNames.includes(set.name));
  if (sets.length === 0) throw new Error(`the rule of ${policyName} in ${chain.name} looks up no set`);
  return { rules: chain.rules.length, probeRule: position + 1, peerSetAddresses: Math.max(...sets.map((s) => s.elements.length)) };
}

async function applyPlan(node: LabNode, runner: NftRunner, plan: Plan): Promise<void> {
  const outcome = await runner.apply(fullTransaction(plan));
  if (!outcome.ok) throw new Error(`${node.name}: the plan does not apply: ${outcome.failure.messages.join('; ')}`);
}

/** The server: accepts and closes. It runs in the pod's namespace, so the lab's teardown ends it too. */
async function startServer(pod: LabPod): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', pod.netns, ...PINNED, PYTHON, LOAD_SCRIPT, 'serve', String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const onExit = (code: number | null) => lines.emit('line', `exited (${code}) before listening`);
  child.once('exit', onExit);
  const first = await new Promise<string>((resolve) => lines.once('line', resolve));
  child.off('exit', onExit);
  if (first !== 'listening') throw new Error(`server in ${pod.label}: ${first}`);
  return child;
}

/** One client process for all the pairs, taking turns between them (connect-load.py alternate). */
async function alternateLoad(pairs: readonly { from: LabPod; to: LabPod }[]): Promise<LoadRun[]> {
  const argv = [...PINNED, PYTHON, LOAD_SCRIPT, 'alternate', String(seconds), String(PORT), ...pairs.map((p) => `${p.from.netns}=${p.to.ipv4}`)];
  const { stdout } = await execFileAsync(argv[0]!, argv.slice(1), { timeout: seconds * 1_000 + 30_000 });
  const runs = (JSON.parse(stdout) as { sides: LoadRun[] }).sides;
  for (const [i, run] of runs.entries()) {
    const failed = Object.values(run.failures).reduce((sum, n) => sum + n, 0);
    if (failed > MAX_FAILURE_SHARE * (run.connections + failed)) {
      const { from, to } = pairs[i]!;
      throw new Error(`load from ${from.label} to ${to.label}: ${failed} connects failed (${JSON.stringify(run.failures)})`);
    }
  }
  return runs;
}

async function conntrack(lab: Lab, node: LabNode, flag: '-F' | '-C'): Promise<string> {
  const exit = await lab.exec(node, ['conntrack', flag]);
  if (exit.code !== 0) throw new Error(`conntrack ${flag} in ${node.name}: ${exit.stderr.trim()}`);
  return exit.stdout;
}

/**
 * The rules in force are the ones meant: each side's client reaches both its servers, and the stranger, whose
 * address no peer set holds, reaches the local server of the enforcing side only while no rules are there.
 */
async function checkReachability(lab: Lab, sides: Record<Mode, Side>, stranger: LabPod, strangerExpected: 'connected' | 'timeout'): Promise<void> {
  const outcomes: Record<string, string> = {};
  for (const mode of MODES) {
    const { client, localServer, remoteServer } = sides[mode];
    outcomes[`${mode}: same-node`] = await lab.probe(client, localServer.ipv4, PORT, 'tcp');
    outcomes[`${mode}: cross-node`] = await lab.probe(client, remoteServer.ipv4, PORT, 'tcp');
  }
  const strangerOutcome = await lab.probe(stranger, sides.with.localServer.ipv4, PORT, 'tcp');
  if (Object.values(outcomes).some((outcome) => outcome !== 'connected') || strangerOutcome !== strangerExpected) {
    throw new Error(`unexpected reachability: ${JSON.stringify({ ...outcomes, stranger: strangerOutcome })}`);
  }
}

/** Each side's figures (median of its runs) and the ratios between sides (RATIOS: "with/binding" is the target's). */
function comparison(runs: Record<Mode, LoadRun[]>) {
  const summary = (of: readonly LoadRun[]) => ({
    perSecond: Math.round(median(of.map((r) => r.perSecond))),
    p50Us: round(median(of.map((r) => r.p50Us)), 1),
    p99Us: round(median(of.map((r) => r.p99Us)), 1),
    perSecondRuns: of.map((r) => Math.round(r.perSecond)),
  });
  const sides = Object.fromEntries(MODES.map((mode) => [mode, summary(runs[mode])])) as Record<Mode, ReturnType<typeof summary>>;
  const ratios = Object.fromEntries(
    RATIOS.map(([a, b]) => [
      `${a}/${b}`,
      {
        rate: round(sides[a].perSecond / sides[b].perSecond, 3),
        p50: round(sides[a].p50Us / sides[b].p50Us, 3),
        p99: round(sides[a].p99Us / sides[b].p99Us, 3),
      },
    ]),
  );
  return { sides, ratios };
}

await main();
