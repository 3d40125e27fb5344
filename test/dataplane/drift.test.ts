// Kernel drift, with real packets: agents on two lab nodes enforce a policy isolating a pod, probes run all along,
// and someone tampers with node1's tables three ways:
//   (a) `nft flush ruleset`: every table of the node gone;
//   (b) the isolated pod's elements deleted from our dispatch maps: its chain is no longer reached;
//   (c) a foreign accept rule inserted at the top of the pod's chain.
// Each opens the denied pair (checked: the probes get answers while the tables are tampered with). Each time the
// agent finds the drift at its next check, logs what differed, counts it and rebuilds the tables in one
// transaction; from then on the denied pair is denied again and the allowed pair never stops working.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Agent, startAgent } from '../../src/agent/index.js';
import { podChainName } from '../../src/compile/index.js';
import { describeViolations, type ProbePair, startContinuousProbes } from '../lab/continuous-probes.js';
import { createLab, type Lab, type LabPod } from '../lab/lab.js';
import { until } from '../support/until.js';

const NS = 'drift';
const HTTP = 80;
const CHECK_INTERVAL_MS = 1_000;
/** Timers and the listing on a busy 2-core machine, beyond the interval itself. */
const DETECTION_SLACK_MS = 1_500;
/** The debounce and the rebuild, after the drift is found. */
const REBUILD_SLACK_MS = 2_000;

interface NodeAgent {
  readonly node: string;
  readonly agent: Agent;
  readonly logs: Record<string, unknown>[];
  readonly nft: (script: string) => Promise<void>;
}

let lab: Lab;
const agents: NodeAgent[] = [];
const pods: Record<string, LabPod> = {};

const agentOn = (node: string) => {
  const found = agents.find((a) => a.node === node);
  if (!found) throw new Error(`no agent on ${node}`);
  return found;
};

async function repairs(agent: Agent): Promise<number> {
  return (await agent.registry.getSingleMetric('bulkhead_drift_repairs_total')?.get())?.values[0]?.value ?? 0;
}

function manifests(): string {
  const pod = (p: LabPod) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: NS, labels: p.labels },
    spec: { nodeName: p.node, containers: [{ name: 'main', image: 'lab', ports: [{ containerPort: HTTP, protocol: 'TCP' }] }] },
    status: { podIPs: [{ ip: p.ipv4 }, { ip: p.ipv6 }] },
  });
  const policy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'db-ingress', namespace: NS },
    spec: {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: HTTP, protocol: 'TCP' }] }],
    },
  };
  return [...Object.values(pods).map(pod), policy].map((doc) => stringify(doc)).join('---\n');
}

/** web (node2) -> db (node1) is allowed; intruder (node2) -> db is denied, on node1. */
function pairs(): ProbePair[] {
  const { db, web, intruder } = pods as Record<'db' | 'web' | 'intruder', LabPod>;
  return [
    { name: 'web -> db (IPv4)', from: web, toIP: db.ipv4, port: HTTP, proto: 'tcp', expect: 'allowed' },
    { name: 'web -> db (IPv6)', from: web, toIP: db.ipv6, port: HTTP, proto: 'tcp', expect: 'allowed' },
    { name: 'intruder -> db (IPv4)', from: intruder, toIP: db.ipv4, port: HTTP, proto: 'tcp', expect: 'denied' },
    { name: 'intruder -> db (IPv6)', from: intruder, toIP: db.ipv6, port: HTTP, proto: 'tcp', expect: 'denied' },
  ];
}

beforeAll(async () => {
  lab = await createLab({ nodes: 2, outside: false });
  for (const [name, node] of [['db', 'node1'], ['web', 'node2'], ['intruder', 'node2']] as const) {
    pods[name] = await lab.addPod({ namespace: NS, name, node, labels: { app: name } });
    await lab.startServer(pods[name]!, HTTP, 'tcp');
  }
  const manifestsDir = join(lab.dir, 'manifests');
  await mkdir(manifestsDir, { recursive: true });
  await writeFile(join(manifestsDir, 'cluster.yaml'), manifests());
  for (const node of lab.nodes) {
    // The agent runs in this process; its nft runs in the node's namespace, as BULKHEAD_NFT would make it.
    const nftPath = join(lab.dir, node.name, 'nft');
    await writeFile(nftPath, `#!/bin/sh\nexec ip netns exec ${node.netns} nft "$@"\n`);
    await chmod(nftPath, 0o755);
    const logs: Record<string, unknown>[] = [];
    // Debug: the checks that find nothing say so, and the test tampers right after one.
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const agent = await startAgent({
      nodeName: node.name,
      source: { kind: 'manifests', directory: manifestsDir },
      cniResultsDir: node.cniResultsDir,
      nftPath,
      debounceMs: 20,
      driftCheckIntervalMs: CHECK_INTERVAL_MS,
      logger,
    });
    const nft = async (script: string) => {
      const result = await lab.exec(node, ['nft', '-f', '-'], { input: script });
      if (result.code !== 0) throw new Error(`nft in ${node.name} failed: ${result.stderr}`);
    };
    agents.push({ node: node.name, agent, logs, nft });
  }
  await until('both agents to apply their first plan', () => agents.every((a) => a.agent.status().ready), 30_000);
});

afterAll(async () => {
  try {
    await Promise.all(agents.map((a) => a.agent.stop()));
  } finally {
    await lab?.destroy();
  }
});

describe('kernel drift, repaired while probes run', () => {
  it('the pairs hold, and neither agent finds drift', async () => {
    const probes = startContinuousProbes(lab, pairs());
    await new Promise((resolve) => setTimeout(resolve, 2 * CHECK_INTERVAL_MS));
    const run = await probes.stop();
    expect(run.violations, describeViolations(run)).toEqual([]);
    for (const { agent } of agents) {
      expect(await agent.checkDrift()).toEqual({ kind: 'in-sync' });
      expect(await repairs(agent)).toBe(0);
    }
  });

  const db = () => pods['db']!;
  const chain = () => podChainName({ namespace: NS, name: 'db' }, 'ingress');
  const tampering: readonly { readonly what: string; readonly script: () => string; readonly differs: RegExp }[] = [
    { what: '`nft flush ruleset`', script: () => 'flush ruleset\n', differs: /^table inet bulkhead: missing$/ },
    {
      what: "the isolated pod's elements deleted from the dispatch maps",
      script: () => `delete element inet bulkhead ingress_pods4 { ${db().ipv4} }\ndelete element inet bulkhead ingress_pods6 { ${db().ipv6} }\n`,
      differs: /^set inet bulkhead ingress_pods4: 1 elements missing \(10\.244\.1\.\d+ : jump pod_in_drift_db\)$/,
    },
    {
      what: "a foreign accept rule at the top of the pod's chain",
      script: () => `insert rule inet bulkhead ${chain()} accept\n`,
      differs: /^chain inet bulkhead pod_in_drift_db: (\d+) rules, expected \d+$/,
    },
  ];

  tampering.forEach(({ what, script, differs }, index) => {
    it(`repairs ${what} at the next check`, async () => {
      const node1 = agentOn('node1');
      const appliedBefore = node1.agent.status().appliedTransactions;
      const logsBefore = node1.logs.length;
      const probes = startContinuousProbes(lab, pairs());
      await new Promise((resolve) => setTimeout(resolve, 200));

      // Right after a check, so that the next is at least half an interval away and the probes see the hole.
      const checked = node1.logs.length;
      await until('a check', () => node1.logs.slice(checked).some((l) => l['msg'] === 'the kernel holds the applied rules'), 2 * CHECK_INTERVAL_MS);
      probes.phase('tampered');
      const tamperedAt = Date.now();
      await node1.nft(script());
      await until('the drift to be found', async () => (await repairs(node1.agent)) === index + 1, CHECK_INTERVAL_MS + DETECTION_SLACK_MS);
      await until('the rebuild', () => node1.agent.status().appliedTransactions > appliedBefore && node1.agent.status().exact, REBUILD_SLACK_MS);
      const repairMs = Date.now() - tamperedAt;
      probes.phase('repaired');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const run = await probes.stop();

      // The tampering opened the denied pair (so these probes can fail), and only until the repair.
      const opened = run.violations.filter((v) => v.phase === 'tampered');
      expect(opened.some((v) => v.pair.startsWith('intruder -> db') && v.outcome === 'connected'), describeViolations(run)).toBe(true);
      expect(run.violations.filter((v) => v.phase !== 'tampered'), describeViolations(run)).toEqual([]);
      expect(run.violations.filter((v) => v.pair.startsWith('web -> db')), describeViolations(run)).toEqual([]);

      const fresh = node1.logs.slice(logsBefore);
      const warning = fresh.find((l) => l['msg'] === 'the kernel does not hold the applied rules; rebuilding the tables in one transaction');
      expect((warning?.['differences'] as string[] | undefined)?.some((d) => differs.test(d)), JSON.stringify(warning)).toBe(true);
      const detectedMs = Number(warning?.['time']) - tamperedAt;
      expect(detectedMs).toBeLessThan(CHECK_INTERVAL_MS + DETECTION_SLACK_MS);
      expect(fresh.filter((l) => l['msg'] === 'rules applied').map((l) => l['replacedTables'])).toEqual([true]);
      expect(await node1.agent.checkDrift()).toEqual({ kind: 'in-sync' });
      // The other node's tables were not touched: nothing to repair there.
      expect(await repairs(agentOn('node2').agent)).toBe(0);
      console.info(`drift (${what}) found ${detectedMs} ms and repaired ${repairMs} ms after the tampering (check interval ${CHECK_INTERVAL_MS} ms)`);
    });
  });
});
