// The kind e2e suite cannot run here (no Docker engine), so everything about it that can be checked without a
// cluster is: its scripts parse and pass shellcheck, the kind config is the cluster the suite assumes, every
// manifest it applies is valid (Kubernetes schemas; policies through our own loader), its pods are the pods of
// examples/three-tier, and every verdict it asserts is the one `bulkhead simulate` gives.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Namespace, Pod as PodModel } from 'kubernetes-models/v1';
import { NetworkPolicy as NetworkPolicyModel } from 'kubernetes-models/networking.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { simulate } from '../../src/cli/simulate.js';
import { DEFAULT_POD_CIDRS, loadManifests } from '../../src/model/index.js';
import { type Pod, podKey } from '../../src/model/types.js';
import { type Probe, selectsPod } from '../../src/policy/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const E2E = join(REPO, 'e2e-kind');
const THREE_TIER = join(REPO, 'examples', 'three-tier');
const STEPS = join(THREE_TIER, 'steps');
const RUN_SH = readFileSync(join(E2E, 'run.sh'), 'utf8');

type KubeObject = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

function yamlObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
    return document.toJS() as KubeObject;
  });
}

/** Validates a Kubernetes object with the kubernetes-models class of its kind; throws the schema's errors. */
function validateAgainstSchema(object: KubeObject): void {
  switch (object.kind) {
    case 'Namespace':
      return new Namespace(object as never).validate();
    case 'Pod':
      return new PodModel(object as never).validate();
    case 'NetworkPolicy':
      return new NetworkPolicyModel(object as never).validate();
    default:
      throw new Error(`${object.kind} ${object.metadata.name}: no schema for this kind in the test; add it`);
  }
}

function run(command: string, args: string[]): { status: number | null; output: string; error?: Error } {
  const result = spawnSync(command, args, { cwd: E2E, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`, ...(result.error ? { error: result.error } : {}) };
}

const scripts = readdirSync(E2E).filter((file) => file.endsWith('.sh'));

describe('e2e-kind scripts', () => {
  it('has the run script', () => {
    expect(scripts).toContain('run.sh');
  });

  it.each(scripts)('%s parses (bash -n)', (script) => {
    const result = run('bash', ['-n', script]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(scripts)('%s passes shellcheck', (script) => {
    const result = run('shellcheck', ['--shell=bash', '--external-sources', script]);
    if (result.error) throw new Error(`shellcheck could not run (${result.error.message}): apt-get install shellcheck, or make deps`);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('installs a pinned Flannel release and CNI plugins version, never "latest"', () => {
    expect(RUN_SH).toMatch(/^FLANNEL_MANIFEST=https:\/\/github\.com\/flannel-io\/flannel\/releases\/download\/v\d+\.\d+\.\d+\/kube-flannel\.yml$/m);
    expect(RUN_SH).toMatch(/^CNI_PLUGINS_VERSION=v\d+\.\d+\.\d+$/m);
  });
});

describe('e2e-kind/kind-config.yaml', () => {
  const [config] = yamlObjects(join(E2E, 'kind-config.yaml')) as unknown as [
    { kind: string; apiVersion: string; networking: Record<string, unknown>; nodes: { role: string; labels?: Record<string, string> }[] },
  ];

  it('is a kind cluster without its default CNI, on Flannel\'s pod network', () => {
    expect(config).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' });
    expect(config.networking).toEqual({ disableDefaultCNI: true, podSubnet: '10.244.0.0/16' });
  });

  it('has one control plane and two workers, one for each slot the workloads ask for', () => {
    expect(config.nodes.map((node) => node.role)).toEqual(['control-plane', 'worker', 'worker']);
    const workerLabels = config.nodes.filter((node) => node.role === 'worker').map((node) => node.labels ?? {});
    const wanted = [
      ...yamlObjects(join(E2E, 'workloads.yaml'))
        .filter((object) => object.kind === 'Pod')
        .map((pod) => (pod as unknown as { spec: { nodeSelector: Record<string, string> } }).spec.nodeSelector),
      // the frontend, which run.sh creates with kubectl run --overrides
      JSON.parse(/--overrides='([^']+)'/.exec(RUN_SH)![1]!).spec.nodeSelector as Record<string, string>,
    ];
    for (const selector of wanted) {
      const matching = workerLabels.filter((labels) => Object.entries(selector).every(([key, value]) => labels[key] === value));
      expect(matching, `one worker for ${JSON.stringify(selector)}`).toHaveLength(1);
    }
  });
});

describe('e2e-kind manifests', () => {
  const applied = ['workloads.yaml', 'sync-marker.yaml'].flatMap((file) =>
    yamlObjects(join(E2E, file)).map((object) => [`${file}: ${object.kind} ${object.metadata.name}`, object] as const),
  );

  it.each(applied)('%s is valid against the Kubernetes schema', (_name, object) => {
    expect(() => validateAgainstSchema(object)).not.toThrow();
  });

  it('loads without an error through our own loader, policies included', async () => {
    const loaded = await loadManifests([join(E2E, 'workloads.yaml'), join(E2E, 'sync-marker.yaml')], {
      defaultNamespace: 'default',
      podCidrs: [...DEFAULT_POD_CIDRS],
    });
    expect(loaded.errors).toEqual([]);
    expect(loaded.policies.map((policy) => `${policy.namespace}/${policy.name}`)).toEqual(['bulkhead-e2e/sync-marker']);
  });

  it('runs the pods of examples/three-tier: same names, labels and container ports', async () => {
    const options = { defaultNamespace: 'default', podCidrs: [...DEFAULT_POD_CIDRS] };
    const e2ePods = (await loadManifests([join(E2E, 'workloads.yaml')], options)).pods;
    const examplePods = new Map((await loadManifests([join(THREE_TIER, 'pods.yaml')], options)).pods.map((pod) => [podKey(pod), pod]));
    expect(e2ePods.length).toBeGreaterThan(0);
    for (const pod of e2ePods) {
      const twin = examplePods.get(podKey(pod));
      expect(twin, `${podKey(pod)} is a pod of examples/three-tier`).toBeDefined();
      expect(pod.labels, podKey(pod)).toEqual(twin!.labels);
      expect(pod.ports, podKey(pod)).toEqual(twin!.ports);
    }
  });

  it('uses a sync marker that selects no pod, so it changes no verdict', async () => {
    const loaded = await loadManifests([join(E2E, 'workloads.yaml'), join(E2E, 'sync-marker.yaml'), join(THREE_TIER, 'pods.yaml')], {
      defaultNamespace: 'default',
      podCidrs: [...DEFAULT_POD_CIDRS],
    });
    const marker = loaded.policies.find((policy) => policy.name === 'sync-marker')!;
    expect(loaded.pods.filter((pod: Pod) => selectsPod(marker, pod))).toEqual([]);
  });

  it('installs daemonset/ with the image run.sh builds (overlay)', () => {
    const [overlay] = yamlObjects(join(E2E, 'overlay', 'kustomization.yaml')) as unknown as [
      { resources: string[]; images: { name: string; newName: string; newTag: string }[] },
    ];
    expect(overlay.resources).toEqual(['../../daemonset']);
    expect(existsSync(join(E2E, 'overlay', '../../daemonset/kustomization.yaml'))).toBe(true);
    const image = /^IMAGE=(\S+)$/m.exec(RUN_SH)?.[1];
    expect(overlay.images.map(({ name, newName, newTag }) => [name, `${newName}:${newTag}`])).toEqual([['bulkhead', image]]);
  });
});

interface Expectation {
  readonly from: string;
  readonly to: string;
  readonly probe: Probe;
  readonly verdict: 'allowed' | 'denied';
  readonly line: number;
}
interface Step {
  readonly name: string;
  readonly directories: readonly string[];
  readonly expectations: Expectation[];
}

/** steps.txt as run.sh reads it (`step NAME DIR...` then `FROM TO PORT/PROTO VERDICT` lines). */
function readSteps(text: string): Step[] {
  const steps: Step[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/).filter((field) => field !== '');
    if (fields.length === 0 || fields[0]!.startsWith('#')) return;
    const where = `steps.txt:${index + 1}`;
    if (fields[0] === 'step') {
      if (fields.length < 2) throw new Error(`${where}: a step needs a name`);
      steps.push({ name: fields[1]!, directories: fields.slice(2), expectations: [] });
      return;
    }
    const [from, to, probe, verdict] = fields;
    const match = /^(\d+)\/(TCP|UDP|SCTP)$/.exec(probe ?? '');
    if (fields.length !== 4 || !match || (verdict !== 'allowed' && verdict !== 'denied')) {
      throw new Error(`${where}: expected FROM TO PORT/PROTO allowed|denied, got '${raw.trim()}'`);
    }
    const step = steps.at(-1);
    if (!step) throw new Error(`${where}: an expectation before the first step`);
    step.expectations.push({ from: from!, to: to!, probe: { port: Number(match[1]), protocol: match[2] as Probe['protocol'] }, verdict, line: index + 1 });
  });
  return steps;
}

describe('e2e-kind/steps.txt', () => {
  const steps = readSteps(readFileSync(join(E2E, 'steps.txt'), 'utf8'));
  const expectations = steps.flatMap((step) => step.expectations);
  const workloadPods = yamlObjects(join(E2E, 'workloads.yaml'))
    .filter((object) => object.kind === 'Pod')
    .map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`);
  // The frontend is created by kubectl run (no server in it); CoreDNS is kind's own (no shell in it).
  const sources = new Set([...workloadPods, 'default/frontend']);
  const destinations = new Set([...workloadPods, 'kube-system/coredns']);
  const isAddress = (endpoint: string) => /^\d+\.\d+\.\d+\.\d+$/.test(endpoint);

  it('replays the three-tier steps in order, each step dir once at most per step', () => {
    const available = readdirSync(STEPS);
    expect(steps.length).toBeGreaterThan(1);
    for (const step of steps) {
      expect(step.expectations.length, `step ${step.name} asserts something`).toBeGreaterThan(0);
      for (const directory of step.directories) expect(available, `step ${step.name}`).toContain(directory);
      expect(new Set(step.directories).size).toBe(step.directories.length);
    }
  });

  it('keeps every step policy in namespace default, the one run.sh clears between steps', async () => {
    const loaded = await loadManifests([STEPS], { defaultNamespace: 'default', podCidrs: [...DEFAULT_POD_CIDRS] });
    expect(loaded.policies.length).toBeGreaterThan(0);
    expect(new Set(loaded.policies.map((policy) => policy.namespace))).toEqual(new Set(['default']));
    expect(RUN_SH).toContain('k -n default delete networkpolicy --all');
  });

  it('probes only from pods with a shell, to pods with servers or the outside host, UDP only as DNS', () => {
    for (const { from, to, probe, line } of expectations) {
      expect(sources.has(from), `steps.txt:${line}: ${from} can run a probe`).toBe(true);
      expect(destinations.has(to) || (isAddress(to) && to.startsWith('203.0.113.')), `steps.txt:${line}: ${to} serves`).toBe(true);
      if (probe.protocol === 'UDP') expect([to, probe.port], `steps.txt:${line}`).toEqual(['kube-system/coredns', 53]);
      expect(probe.protocol, `steps.txt:${line}: busybox has no SCTP client`).not.toBe('SCTP');
    }
  });

  it('asserts a denial only where the same destination and port is allowed in some step', () => {
    const allowed = new Set(expectations.filter((e) => e.verdict === 'allowed').map((e) => `${e.to} ${e.probe.port}/${e.probe.protocol}`));
    for (const e of expectations.filter((x) => x.verdict === 'denied')) {
      expect(allowed.has(`${e.to} ${e.probe.port}/${e.probe.protocol}`), `steps.txt:${e.line}: ${e.to} ${e.probe.port}/${e.probe.protocol} is reachable at all`).toBe(true);
    }
  });

  it.each(steps.map((step) => [step.name, step] as const))('step %s: every verdict is the one bulkhead simulate gives', async (_name, step) => {
    const loaded = await loadManifests([join(THREE_TIER, 'pods.yaml'), ...step.directories.map((directory) => join(STEPS, directory))], {
      defaultNamespace: 'default',
      podCidrs: [...DEFAULT_POD_CIDRS],
    });
    expect(loaded.errors).toEqual([]);
    const probes = [...new Map(step.expectations.map((e) => [`${e.probe.port}/${e.probe.protocol}`, e.probe])).values()];
    const externalIPs = [...new Set(step.expectations.map((e) => e.to).filter(isAddress))];
    const results = simulate(buildSnapshot(loaded), { probes, externalIPs });
    for (const e of step.expectations) {
      const result = results.find((r) => r.from === e.from && r.to === e.to && r.port === e.probe.port && r.protocol === e.probe.protocol);
      expect(result, `steps.txt:${e.line}: simulated`).toBeDefined();
      expect(result!.allowed ? 'allowed' : 'denied', `steps.txt:${e.line}: ${e.from} -> ${e.to} ${e.probe.port}/${e.probe.protocol}`).toBe(e.verdict);
    }
  });
});
