// Pods, and workloads read as the one pod their template describes. Only what policy enforcement uses is read:
// labels, addresses, hostNetwork, node, container ports; the rest of a pod spec may be anything.
import { z } from 'zod';
import { readIP } from './addresses.js';
import type { ManifestObject } from './documents.js';
import {
  childPath,
  type FieldIssue,
  Findings,
  indexPath,
  invalidValue,
  readStructure,
  REQUIRED_VALUE,
} from './field-issues.js';
import { readLabels } from './labels.js';
import { dns1123SubdomainErrors } from './names.js';
import type { WorkloadKind } from './object-kinds.js';
import { readObjectMeta } from './object-meta.js';
import { portNameErrors, portNumberErrors, readProtocol } from './ports.js';
import type { ContainerPort, Labels, Pod, ValidationError } from './types.js';

export interface PodContext {
  readonly defaultNamespace: string;
  readonly apiVersionIssue?: FieldIssue;
}

export interface PodReading {
  /** Undefined when the object cannot be enforced: errors say why. */
  readonly pod: Pod | undefined;
  readonly errors: readonly ValidationError[];
  readonly warnings: readonly ValidationError[];
}

const podSpecStructure = z.object({
  hostNetwork: z.boolean().nullish(),
  nodeName: z.string().nullish(),
  containers: z.array(z.object({ ports: z.array(z.unknown()).nullish() }).nullable()).nullish(),
});
type PodSpecStructure = z.infer<typeof podSpecStructure>;

const podStatusStructure = z.object({
  podIP: z.string().nullish(),
  podIPs: z.array(z.object({ ip: z.string() })).nullish(),
});

const containerPortStructure = z.object({
  name: z.string().nullish(),
  containerPort: z.number().int().nullish(),
  protocol: z.string().nullish(),
});

const templateStructure = z.object({
  metadata: z.object({ labels: z.unknown().optional() }).nullish(),
  spec: podSpecStructure.nullish(),
});

const workloadStructure = z.object({ spec: z.object({ template: templateStructure }) });
const cronJobStructure = z.object({
  spec: z.object({ jobTemplate: z.object({ spec: z.object({ template: templateStructure }) }) }),
});

/** What a pod looks like before addresses are handed out. */
interface PodParts {
  readonly labels: Labels;
  readonly hostNetwork: boolean;
  readonly nodeName: string | undefined;
  readonly ports: readonly ContainerPort[];
}

export function readPod(object: ManifestObject, context: PodContext): PodReading {
  // Port problems drop only the port: the pod is still there, and still reachable on its other ports.
  const fatal = new Findings();
  const ports = new Findings();
  if (context.apiVersionIssue) fatal.errors.push(context.apiVersionIssue);
  const meta = readObjectMeta(object.body['metadata'], { name: 'dns1123-subdomain', namespaced: true, defaultNamespace: context.defaultNamespace });
  fatal.errors.push(...meta.issues);
  const spec = fatal.take(readStructure(podSpecStructure, object.body['spec'] ?? {}, 'spec'));
  const parts = spec && meta.labels && readPodParts(meta.labels, spec, 'spec', fatal, ports);
  const ips = readPodIPs(object.body['status'], fatal);

  const label = `Pod ${meta.namespace ?? '?'}/${meta.name ?? '?'}`;
  const pod =
    fatal.errors.length === 0 && parts && ips && meta.name !== undefined && meta.namespace !== undefined
      ? { namespace: meta.namespace, name: meta.name, ips, ...parts }
      : undefined;
  return finish(pod, label, object.source, fatal, ports);
}

export function readWorkload(object: ManifestObject, kind: WorkloadKind, context: PodContext): PodReading {
  const fatal = new Findings();
  const ports = new Findings();
  if (context.apiVersionIssue) fatal.errors.push(context.apiVersionIssue);
  const meta = readObjectMeta(object.body['metadata'], { name: 'dns1123-subdomain', namespaced: true, defaultNamespace: context.defaultNamespace });
  fatal.errors.push(...meta.issues);

  const templatePath = kind === 'CronJob' ? 'spec.jobTemplate.spec.template' : 'spec.template';
  const template =
    kind === 'CronJob'
      ? fatal.take(readStructure(cronJobStructure, object.body, ''))?.spec.jobTemplate.spec.template
      : fatal.take(readStructure(workloadStructure, object.body, ''))?.spec.template;
  const labels = template && fatal.take(readLabels(template.metadata?.labels, childPath(templatePath, 'metadata.labels')));
  const parts = template && labels && readPodParts(labels, template.spec ?? {}, childPath(templatePath, 'spec'), fatal, ports);

  const label = `${kind} ${meta.namespace ?? '?'}/${meta.name ?? '?'}`;
  const pod =
    fatal.errors.length === 0 && parts && meta.name !== undefined && meta.namespace !== undefined
      ? { namespace: meta.namespace, name: meta.name, ips: [], workload: `${kind}/${meta.name}`, ...parts }
      : undefined;
  return finish(pod, label, object.source, fatal, ports);
}

function finish(pod: Pod | undefined, label: string, source: string, fatal: Findings, ports: Findings): PodReading {
  const attribute = (issues: readonly FieldIssue[]) =>
    issues.map((issue) => ({ object: label, field: issue.field, message: issue.message, source }));
  return {
    pod,
    errors: attribute([...fatal.errors, ...ports.errors]),
    warnings: attribute([...fatal.warnings, ...ports.warnings]),
  };
}

function readPodParts(labels: Labels, spec: PodSpecStructure, path: string, fatal: Findings, ports: Findings): PodParts | undefined {
  const nodeName = spec.nodeName ?? undefined;
  if (nodeName !== undefined && nodeName !== '') {
    for (const e of dns1123SubdomainErrors(nodeName)) fatal.error(childPath(path, 'nodeName'), invalidValue(nodeName, e));
  }
  return {
    labels,
    hostNetwork: spec.hostNetwork ?? false,
    nodeName: nodeName === '' ? undefined : nodeName,
    ports: readContainerPorts(spec, path, ports),
  };
}

/** All containers' ports. Names are unique per container (the API's rule); across containers it only warns. */
function readContainerPorts(spec: PodSpecStructure, path: string, findings: Findings): ContainerPort[] {
  const result: ContainerPort[] = [];
  const containerOfName = new Map<string, number>();
  for (const [c, container] of (spec.containers ?? []).entries()) {
    const portsPath = childPath(indexPath(childPath(path, 'containers'), c), 'ports');
    const namesInContainer = new Set<string>();
    for (const [p, raw] of (container?.ports ?? []).entries()) {
      const port = readContainerPort(raw, indexPath(portsPath, p), namesInContainer, findings);
      if (!port) continue;
      if (port.name !== undefined) {
        const other = containerOfName.get(port.name);
        if (other !== undefined && other !== c) {
          findings.warn(childPath(indexPath(portsPath, p), 'name'), `port name "${port.name}" is also used by containers[${other}]: a policy naming it matches both`);
        }
        containerOfName.set(port.name, c);
        namesInContainer.add(port.name);
      }
      result.push(port);
    }
  }
  return result;
}

function readContainerPort(raw: unknown, path: string, namesInContainer: ReadonlySet<string>, findings: Findings): ContainerPort | undefined {
  const port = findings.take(readStructure(containerPortStructure, raw, path));
  if (!port) return undefined;
  const errorsBefore = findings.errors.length;
  const name = port.name ?? undefined;
  if (name !== undefined && name !== '') {
    const nameErrors = portNameErrors(name);
    for (const e of nameErrors) findings.error(childPath(path, 'name'), invalidValue(name, e));
    if (nameErrors.length === 0 && namesInContainer.has(name)) findings.error(childPath(path, 'name'), `Duplicate value: ${JSON.stringify(name)}`);
  }
  const containerPort = port.containerPort ?? 0;
  if (containerPort === 0) findings.error(childPath(path, 'containerPort'), REQUIRED_VALUE);
  else for (const e of portNumberErrors(containerPort)) findings.error(childPath(path, 'containerPort'), invalidValue(containerPort, e));
  // Unlike a NetworkPolicy port, a container port's empty protocol is defaulted to TCP.
  const { protocol, error } = readProtocol(port.protocol || undefined);
  if (error) findings.error(childPath(path, 'protocol'), error);
  if (findings.errors.length !== errorsBefore || protocol === undefined) return undefined;
  return { ...(name ? { name } : {}), containerPort, protocol };
}

/** status.podIPs (or the older status.podIP), canonical; at most one address of each family. */
function readPodIPs(raw: unknown, findings: Findings): string[] | undefined {
  const status = findings.take(readStructure(podStatusStructure, raw ?? {}, 'status'));
  if (!status) return undefined;
  const given = status.podIPs && status.podIPs.length > 0
    ? status.podIPs.map((entry, i) => ({ text: entry.ip, field: childPath(indexPath('status.podIPs', i), 'ip') }))
    : status.podIP ? [{ text: status.podIP, field: 'status.podIP' }] : [];
  const ips: string[] = [];
  const families = new Set<string>();
  for (const { text, field } of given) {
    const { ip, family, error } = readIP(text);
    if (error !== undefined) findings.error(field, invalidValue(text, error));
    else if (families.has(family)) findings.error(field, invalidValue(text, 'may specify no more than one IP for each IP family'));
    else {
      families.add(family);
      ips.push(ip);
    }
  }
  return ips;
}
