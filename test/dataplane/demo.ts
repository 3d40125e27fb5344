// `make demo`: the seed articles' story told with real packets. A 2-node lab (network namespaces, cni0 bridges,
// VXLAN between the nodes, an outside host), a Kubernetes API server (the tests' fake one, reached from each node
// at https://127.0.0.1:6443), one Bulkhead agent per node watching it, the three-tier example of examples/, and
// the steps the seeds walk through: all open, deny-all ingress, frontend -> backend allowed, default deny with
// DNS, namespace isolation, egress to an external IP. Each step is applied through the API server as
// `kubectl apply --prune` would, then probes the same connections for real and prints what the kernel did beside
// what `bulkhead simulate` predicts; then the drop counters. Cleans up on exit.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, loadManifests } from '../../src/model/index.js';
import { type Cluster, type Probe, type ProbeResult, type Scenario, startCluster } from './harness.js';

const EXAMPLE = join(fileURLToPath(new URL('../../', import.meta.url)), 'examples', 'three-tier');

/** The seeds' steps, each a set of step directories of examples/three-tier applied together. */
const STEPS: readonly { readonly title: string; readonly dirs: readonly string[] }[] = [
  { title: 'no policy: Flannel alone, everything is open', dirs: [] },
  { title: 'deny all ingress to backend (seed 000)', dirs: ['01-deny-ingress-to-backend'] },
  { title: '+ allow frontend -> backend (seed 000): policies add up', dirs: ['01-deny-ingress-to-backend', '02-allow-frontend-to-backend'] },
  { title: 'default deny all + DNS egress to kube-system (seeds 002, 003)', dirs: ['03-default-deny-with-dns'] },
  { title: 'namespace isolation by kubernetes.io/metadata.name (seed 000)', dirs: ['04-namespace-isolation'] },
  { title: 'backend egress to an external IP, with except (seeds 001, 003)', dirs: ['05-egress-to-external-ip'] },
];

const PROBES: readonly Probe[] = [
  { from: 'default/frontend', to: 'default/backend', port: 8080, protocol: 'TCP' },
  { from: 'other/lookalike', to: 'default/backend', port: 8080, protocol: 'TCP' },
  { from: 'monitoring/prometheus', to: 'default/backend', port: 8080, protocol: 'TCP' },
  { from: 'default/frontend', to: 'default/database', port: 3306, protocol: 'TCP' },
  { from: 'default/backend', to: 'default/database', port: 5432, protocol: 'TCP' },
  { from: 'default/frontend', to: 'kube-system/coredns', port: 53, protocol: 'UDP' },
  { from: 'default/backend', to: { ip: '203.0.113.10' }, port: 443, protocol: 'TCP' },
  { from: 'default/backend', to: { ip: '203.0.113.20' }, port: 443, protocol: 'TCP' },
];

/** Pods alternate between the two nodes, so half the probes cross the VXLAN. */
async function threeTierScenario(policies: readonly string[]): Promise<Scenario> {
  const loaded = await loadManifests([join(EXAMPLE, 'pods.yaml')], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
  if (loaded.errors.length > 0) throw new Error(`examples/three-tier/pods.yaml: ${loaded.errors[0]!.message}`);
  return {
    namespaces: loaded.namespaces.filter((ns) => !ns.implicit).map((ns) => ({ name: ns.name, labels: ns.labels })),
    pods: loaded.pods.map((pod, i) => ({
      namespace: pod.namespace,
      name: pod.name,
      node: `node${1 + (i % 2)}`,
      labels: pod.labels,
      ports: pod.ports,
    })),
    policies,
    outside: [{ port: 443, protocol: 'TCP' }],
  };
}

function stepPolicies(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) => {
    const path = join(EXAMPLE, 'steps', dir);
    return readdirSync(path)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => readFileSync(join(path, f), 'utf8'));
  });
}

function target(probe: Probe): string {
  return typeof probe.to === 'string' ? probe.to : probe.to.ip;
}

function connectionName(probe: Probe): string {
  return `${String(probe.from)} -> ${target(probe)} ${probe.port}/${probe.protocol}`;
}

function mark(result: ProbeResult): string {
  const kernel = result.outcome === 'connected' ? 'open' : result.outcome === 'timeout' ? 'DROP' : result.outcome;
  return result.outcome === result.verdictOutcome ? kernel : `${kernel}!`;
}

function printStep(
  index: number,
  title: string,
  results: readonly ProbeResult[],
  nodeOf: (key: string) => string,
  changes: readonly string[],
  inForceMs: number,
  resourceVersion: number | undefined,
): void {
  console.log(`\nStep ${index}: ${title}`);
  const policyChanges = changes.filter((c) => c.startsWith('networkpolicy'));
  const others = changes.length - policyChanges.length;
  if (changes.length === 0) console.log('  applied through the API server (kubectl apply --prune): nothing to change');
  else console.log('  applied through the API server (kubectl apply --prune):');
  for (const change of policyChanges) console.log(`    ${change}`);
  if (others > 0) console.log(`    ${others} namespaces and pods created or changed`);
  console.log(`  both agents enforce resourceVersion ${resourceVersion ?? '?'} ${inForceMs} ms after the apply began; probing:`);
  for (const r of results) {
    const from = String(r.probe.from);
    const to = target(r.probe);
    const path = typeof r.probe.to === 'string' ? (nodeOf(from) === nodeOf(to) ? 'same node' : 'via VXLAN') : 'outside';
    const predicted = r.verdict.allowed ? 'allowed' : 'denied';
    console.log(`  ${mark(r).padEnd(6)} ${connectionName(r.probe).padEnd(62)} ${path.padEnd(10)} simulate: ${predicted}`);
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  console.log('Bulkhead demo: building a 2-node lab (network namespaces, cni0 bridges, VXLAN, an outside host),');
  console.log('an API server, and one agent per node watching it ...');
  let cluster: Cluster | undefined;
  const stop = async () => {
    await cluster?.stop();
    cluster = undefined;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop().then(() => process.exit(130)));
  }
  try {
    cluster = await startCluster({ nodes: 2, source: 'api' });
    console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: agents in force at resourceVersion ${cluster.api?.server.resourceVersion ?? '?'}`);
    const summary: string[][] = PROBES.map((p) => [connectionName(p)]);
    let disagreements = 0;
    for (const [i, step] of STEPS.entries()) {
      const scenario = await threeTierScenario(stepPolicies(step.dirs));
      const applyStarted = Date.now();
      const report = await cluster.apply(scenario);
      const inForceMs = Date.now() - applyStarted;
      const results = await cluster.probe(PROBES);
      const nodes = new Map(scenario.pods.map((p) => [`${p.namespace}/${p.name}`, p.node]));
      printStep(i, step.title, results, (key) => nodes.get(key) ?? '?', report.changes, inForceMs, cluster.api?.server.resourceVersion);
      const drops = (await cluster.dropCounters()).filter((c) => c.packets > 0);
      const counted = drops.map((c) => `${c.namespace}/${c.pod} ${c.direction} ${c.packets} (${c.node})`).join(', ');
      console.log(`  drop counters: ${counted || 'none'}`);
      results.forEach((r, row) => summary[row]!.push(mark(r)));
      disagreements += results.filter((r) => r.outcome !== r.verdictOutcome).length;
    }

    console.log('\nBefore/after, what the kernel did at each step (open = connected, DROP = dropped by Bulkhead):');
    const header = ['connection', ...STEPS.map((_, i) => `step ${i}`)];
    const widths = header.map((h, c) => Math.max(h.length, ...summary.map((row) => row[c]!.length)));
    for (const row of [header, ...summary]) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`);

    console.log('\nDrop counters are nft named counters per pod and direction, counting from when the pod became');
    console.log('isolated in that direction; they go with its chain when no policy isolates it any more.');

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (disagreements > 0) {
      console.log(`\n${disagreements} probes disagreed with the simulation (marked '!'): that is a bug, please report it.`);
      return 1;
    }
    console.log(`\nEvery probe agreed with \`bulkhead simulate\`. Done in ${seconds} s; cleaning up.`);
    console.log('Explore yourself: `make lab-up` keeps a lab running (API server and agents included);');
    console.log('`npx tsx test/lab/lab-cli.ts apply FILE|DIR` applies policies to it; `make lab-down` removes it.');
    return 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
