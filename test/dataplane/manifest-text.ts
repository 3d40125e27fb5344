// Validated model objects back to the manifests an API server would hand out, so that a dataplane test can write
// them for the agent and read them back through the same loader. Only fields the model keeps are written.
import { stringify } from 'yaml';
import type {
  ContainerPort,
  Direction,
  LabelSelector,
  Labels,
  NetworkPolicy,
  Peer,
  PolicyPort,
  Rule,
} from '../../src/model/types.js';

export interface PodManifest {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly nodeName: string;
  readonly ips: readonly string[];
  readonly ports: readonly ContainerPort[];
  /** Default false. */
  readonly hostNetwork?: boolean;
}

export function namespaceText(name: string, labels: Labels, annotations: Labels = {}): string {
  return stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...nonEmpty('labels', labels), ...nonEmpty('annotations', annotations) } });
}

export function podText(pod: PodManifest): string {
  const ports = pod.ports.map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), containerPort: p.containerPort, protocol: p.protocol }));
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, ...nonEmpty('labels', pod.labels) },
    spec: {
      nodeName: pod.nodeName,
      ...(pod.hostNetwork === true ? { hostNetwork: true } : {}),
      containers: [{ name: 'main', image: 'lab', ...(ports.length > 0 ? { ports } : {}) }],
    },
    status: { phase: 'Running', podIPs: pod.ips.map((ip) => ({ ip })), ...(pod.ips[0] === undefined ? {} : { podIP: pod.ips[0] }) },
  });
}

/** A valid policy as written; one carrying validation errors has no faithful text and is refused. */
export function policyText(policy: NetworkPolicy): string {
  if (policy.errors.length > 0) {
    throw new Error(`NetworkPolicy ${policy.namespace}/${policy.name}: carries validation errors, so it has no manifest text of its own`);
  }
  return stringify(policyObject(policy));
}

export function policyObject(policy: NetworkPolicy): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: policy.name, namespace: policy.namespace, ...nonEmpty('annotations', policy.annotations) },
    spec: {
      podSelector: selectorObject(policy.podSelector),
      policyTypes: policy.policyTypes.map(policyTypeName),
      ...(policy.ingress.length > 0 ? { ingress: policy.ingress.map((rule) => ruleObject(rule, 'from')) } : {}),
      ...(policy.egress.length > 0 ? { egress: policy.egress.map((rule) => ruleObject(rule, 'to')) } : {}),
    },
  };
}

function policyTypeName(direction: Direction): 'Ingress' | 'Egress' {
  switch (direction) {
    case 'ingress':
      return 'Ingress';
    case 'egress':
      return 'Egress';
    default: {
      const unreachable: never = direction;
      return unreachable;
    }
  }
}

function ruleObject(rule: Rule, peersField: 'from' | 'to'): Record<string, unknown> {
  return {
    ...(rule.peers.length > 0 ? { [peersField]: rule.peers.map(peerObject) } : {}),
    ...(rule.ports.length > 0 ? { ports: rule.ports.map(portObject) } : {}),
  };
}

function peerObject(peer: Peer): Record<string, unknown> {
  switch (peer.kind) {
    case 'pods':
      return {
        ...(peer.namespaceSelector ? { namespaceSelector: selectorObject(peer.namespaceSelector) } : {}),
        ...(peer.podSelector ? { podSelector: selectorObject(peer.podSelector) } : {}),
      };
    case 'ipBlock':
      return { ipBlock: { cidr: peer.ipBlock.cidr, ...(peer.ipBlock.except.length > 0 ? { except: [...peer.ipBlock.except] } : {}) } };
    default: {
      const unreachable: never = peer;
      return unreachable;
    }
  }
}

function portObject(port: PolicyPort): Record<string, unknown> {
  return {
    protocol: port.protocol,
    ...(port.port === undefined ? {} : { port: port.port }),
    ...(port.endPort === undefined ? {} : { endPort: port.endPort }),
  };
}

function selectorObject(selector: LabelSelector): Record<string, unknown> {
  return {
    ...nonEmpty('matchLabels', selector.matchLabels),
    ...(selector.matchExpressions.length > 0
      ? {
          matchExpressions: selector.matchExpressions.map((e) =>
            // The API rejects values on Exists and DoesNotExist.
            e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { key: e.key, operator: e.operator } : { key: e.key, operator: e.operator, values: [...e.values] },
          ),
        }
      : {}),
  };
}

function nonEmpty(field: string, map: Readonly<Record<string, string>>): Record<string, Record<string, string>> {
  return Object.keys(map).length > 0 ? { [field]: { ...map } } : {};
}
