// A validated NetworkPolicy back to the manifest an API server would hand out (only fields the model keeps): what
// the advisor prints and what tests write for the agent to read back through the same loader.
import type { Direction, LabelSelector, NetworkPolicy, Peer, PolicyPort, Rule } from './types.js';

export function policyManifest(policy: NetworkPolicy): Record<string, unknown> {
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

export function nonEmpty(field: string, map: Readonly<Record<string, string>>): Record<string, Record<string, string>> {
  return Object.keys(map).length > 0 ? { [field]: { ...map } } : {};
}
