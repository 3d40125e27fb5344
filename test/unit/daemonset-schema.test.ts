// The install manifests (daemonset/): every object valid against the Kubernetes schemas (kubernetes-models), plus
// what no schema can say: RBAC grants exactly what the agent reads, the DaemonSet's arguments are ones our CLI
// accepts, the probes and scrape annotations point at the port the agent listens on, and kustomize installs
// every file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type AgentFlags, agentOptionsFromFlags } from '../../src/cli/agent-command.js';
import { buildProgram } from '../../src/cli/program.js';

const DAEMONSET_DIR = fileURLToPath(new URL('../../daemonset/', import.meta.url));

interface Manifest {
  file: string;
  object: Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };
}

function readManifests(directory: string): Manifest[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(directory, file), 'utf8')).map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
        return { file, object: document.toJS() as Manifest['object'] };
      }),
    );
}

/** Validates one object with the kubernetes-models class of its kind; throws the schema's errors. */
function validateAgainstSchema(object: Manifest['object']): void {
  switch (object.kind) {
    case 'Namespace':
      return new Namespace(object as never).validate();
    case 'ServiceAccount':
      return new ServiceAccount(object as never).validate();
    case 'ClusterRole':
      return new ClusterRole(object as never).validate();
    case 'ClusterRoleBinding':
      return new ClusterRoleBinding(object as never).validate();
    case 'DaemonSet':
      return new DaemonSet(object as never).validate();
    default:
      throw new Error(`${object.kind} ${object.metadata.name}: no schema for this kind in the test; add it`);
  }
}

const manifests = readManifests(DAEMONSET_DIR);
const only = <T>(kind: string): T => {
  const found = manifests.filter((m) => m.object.kind === kind);
  expect(found, `exactly one ${kind} in daemonset/`).toHaveLength(1);
  return found[0]!.object as T;
};

interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: number | string } };
  readinessProbe: { httpGet: { path: string; port: number | string } };
  securityContext: { capabilities: { add: string[]; drop: string[] }; readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface DaemonSetObject {
  metadata: { namespace: string };
  spec: {
    updateStrategy: { type: string; rollingUpdate: { maxUnavailable: number } };
    template: {
      metadata: { annotations: Record<string, string> };
      spec: {
        serviceAccountName: string;
        hostNetwork: boolean;
        dnsPolicy: string;
        tolerations: { operator: string; key?: string; effect?: string }[];
        containers: Container[];
        volumes: { name: string; hostPath?: { path: string } }[];
      };
    };
  };
}

const daemonSet = only<DaemonSetObject>('DaemonSet');
const podSpec = daemonSet.spec.template.spec;
const agent = podSpec.containers[0]!;

/**
 * The agent command's options for these arguments, as our commander program parses them, with the kubelet's
 * $(NODE_NAME) expansion done; the agent itself is not started.
 */
function parseAgentArgs(args: readonly string[], nodeName: string): Record<string, unknown> {
  const program = buildProgram();
  const agentCommand = program.commands.find((command) => command.name() === 'agent');
  if (agentCommand === undefined) throw new Error('the CLI has no agent command');
  let parsed: Record<string, unknown> | undefined;
  agentCommand.action((_options: unknown, command: Command) => {
    parsed = command.opts();
  });
  const expanded = args.map((arg) => arg.replaceAll('$(NODE_NAME)', nodeName));
  program.parse(['node', 'bulkhead', ...expanded]);
  if (parsed === undefined) throw new Error(`'${expanded.join(' ')}' did not reach the agent command`);
  return parsed;
}

describe('daemonset/ manifests', () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.object.kind} ${m.object.metadata.name}`, m] as const))(
    '%s is valid against the Kubernetes schema',
    (_name, manifest) => {
      expect(() => validateAgainstSchema(manifest.object)).not.toThrow();
    },
  );

  it('puts every namespaced object in bulkhead-system, and creates that namespace', () => {
    expect(only<{ metadata: { name: string } }>('Namespace').metadata.name).toBe('bulkhead-system');
    for (const { object } of manifests.filter((m) => ['ServiceAccount', 'DaemonSet'].includes(m.object.kind))) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('bulkhead-system');
    }
  });

  it('grants exactly get, list and watch on pods, namespaces and networkpolicies.networking.k8s.io', () => {
    const role = only<{ rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[] }>('ClusterRole');
    const grants = role.rules.flatMap((rule) => {
      expect(rule.resourceNames, 'no resourceNames').toBeUndefined();
      expect(rule.nonResourceURLs, 'no nonResourceURLs').toBeUndefined();
      return rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}.${group || 'core'}`)),
      );
    });
    expect(new Set(grants).size, 'no grant twice').toBe(grants.length);
    expect([...grants].sort()).toEqual(
      ['get', 'list', 'watch'].flatMap((verb) => [`${verb} namespaces.core`, `${verb} networkpolicies.networking.k8s.io`, `${verb} pods.core`]).sort(),
    );
  });

  it('binds that role to the service account the DaemonSet runs as', () => {
    const role = only<{ metadata: { name: string } }>('ClusterRole');
    const account = only<{ metadata: { name: string; namespace: string } }>('ServiceAccount');
    const binding = only<{ roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] }>('ClusterRoleBinding');
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace }]);
    expect(podSpec.serviceAccountName).toBe(account.metadata.name);
  });

  it('runs one agent container in the host network namespace on every node, one node at a time on update', () => {
    expect(podSpec.containers).toHaveLength(1);
    expect(podSpec.hostNetwork).toBe(true);
    expect(podSpec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(podSpec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(daemonSet.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  });

  it('has only NET_ADMIN and SETGID, a read-only root filesystem and no privilege escalation', () => {
    expect(agent.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'SETGID'] });
    expect(agent.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(agent.securityContext.allowPrivilegeEscalation).toBe(false);
  });

  it('passes arguments the agent command accepts: this node from the downward API, the API in-cluster, the mounted CNI cache', () => {
    const nodeNameEnv = agent.env.find((variable) => variable.name === 'NODE_NAME');
    expect(nodeNameEnv?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
    const flags = parseAgentArgs(agent.args, 'kind-worker');
    // No environment but what the pod has: KUBECONFIG unset, so the in-cluster service account.
    const options = agentOptionsFromFlags(flags as unknown as AgentFlags, { NODE_NAME: 'kind-worker', KUBECONFIG: undefined }, () => undefined);
    expect(options.nodeName).toBe('kind-worker');
    expect(options.source).toEqual({ kind: 'cluster', connection: { kind: 'in-cluster' } });
    const cniMount = agent.volumeMounts.find((mount) => mount.mountPath === options.cniResultsDir);
    expect(cniMount, `--cni-results ${options.cniResultsDir} is a mounted volume`).toBeDefined();
    expect(podSpec.volumes.find((volume) => volume.name === cniMount!.name)?.hostPath?.path).toBe('/var/lib/cni/results');
  });

  it('probes, exposes and annotates for scraping the port the agent listens on', () => {
    const port = Number(parseAgentArgs(agent.args, 'kind-worker').httpPort);
    expect(Number.isInteger(port)).toBe(true);
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/healthz', port });
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port });
    expect(agent.ports.map((p) => p.containerPort)).toEqual([port]);
    expect(daemonSet.spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
    });
  });

  it('mounts every host path read-only', () => {
    const hostVolumes = podSpec.volumes.filter((volume) => volume.hostPath !== undefined).map((volume) => volume.name);
    expect(hostVolumes.length).toBeGreaterThan(0);
    for (const name of hostVolumes) {
      const mounts = agent.volumeMounts.filter((mount) => mount.name === name);
      expect(mounts.length, `volume ${name} is mounted`).toBeGreaterThan(0);
      for (const mount of mounts) expect(mount.readOnly, `${mount.mountPath} read-only`).toBe(true);
    }
  });
});

describe('daemonset/kustomization.yaml', () => {
  const kustomization = parseAllDocuments(readFileSync(join(DAEMONSET_DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
    apiVersion: string;
    kind: string;
    resources: string[];
    images: { name: string; newName?: string; newTag?: string }[];
  };

  it('lists every manifest of the directory once, and nothing else', () => {
    expect(kustomization).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' });
    const files = [...new Set(manifests.map((m) => m.file))].sort();
    expect([...kustomization.resources].sort()).toEqual(files);
  });

  it('sets the image of the agent container, tagged with the package version', () => {
    const { version } = JSON.parse(readFileSync(join(DAEMONSET_DIR, '..', 'package.json'), 'utf8')) as { version: string };
    expect(kustomization.images).toEqual([{ name: agent.image, newTag: version }]);
  });
});
