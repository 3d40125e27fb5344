import type { NetworkPolicy, Pod, PolicyPort } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { namedPortDestinations, resolvePolicyPort } from '../index.js';
import { nearest } from './suggest.js';
import { type PortAt, enforcedRules, portsOf, validPolicies } from './walk.js';
import { type LintCheck, type LintWarning, policyWarning } from './warning.js';

/**
 * A named port that no destination of its rule declares (name and protocol), so the entry admits nothing. The
 * destinations are the policy's pods for ingress and the pods the peers reach for egress. When they are none
 * because a selector matches nothing, that is reported by selector-matches-nothing instead; when they are none
 * because every peer is an ipBlock outside the pods, the name can never resolve.
 */
export const namedPortUndeclared: LintCheck = {
  id: 'named-port-undeclared',
  run: (snapshot) =>
    validPolicies(snapshot).flatMap((policy) =>
      enforcedRules(policy).flatMap((rule) =>
        portsOf(rule).flatMap((at) => {
          const name = at.port.port;
          if (typeof name !== 'string') return [];
          const destinations = namedPortDestinations(snapshot, policy, rule.direction, rule.index);
          if (destinations.some((pod) => resolvePolicyPort(at.port, pod).kind === 'range')) return [];
          // Egress named ports resolve on the peer: an ipBlock reaches addresses, and those outside pods declare nothing.
          const ipBlocksOnly = rule.direction === 'egress' && rule.rule.peers.length > 0 && rule.rule.peers.every((peer) => peer.kind === 'ipBlock');
          if (destinations.length === 0 && !ipBlocksOnly) return [];
          return [undeclaredWarning(policy, at, name, destinations, ipBlocksOnly)];
        }),
      ),
    ),
};

function undeclaredWarning(policy: NetworkPolicy, at: PortAt, name: string, destinations: readonly Pod[], ipBlocksOnly: boolean): LintWarning {
  const field = `${at.field}.port`;
  const { protocol } = at.port;
  if (destinations.length === 0) {
    return policyWarning('named-port-undeclared', policy, {
      field,
      message: `named port ${name} (${protocol}) in a rule whose peers are all ipBlocks: addresses outside pods declare no ports, so this entry admits nothing`,
      fix: 'use the port number',
    });
  }
  const whose = at.rule.direction === 'ingress' ? 'the pods this policy selects' : 'the pods this rule reaches';
  const message = `named port ${name} (${protocol}) is declared by none of ${whose} (${destinations.length}), so this entry admits nothing`;
  const otherProtocol = declaredElsewhere(at.port, name, destinations);
  if (otherProtocol) {
    return policyWarning('named-port-undeclared', policy, { field, message: `${message}; they declare it as ${otherProtocol}`, fix: `set protocol: ${otherProtocol}` });
  }
  const names = destinations.flatMap((pod) => pod.ports.flatMap((p) => (p.protocol === protocol && p.name !== undefined ? [p.name] : [])));
  const near = nearest(name, names);
  return policyWarning('named-port-undeclared', policy, {
    field,
    message: near ? `${message}; did you mean ${near}?` : message,
    fix: near ? `change it to ${near}` : `use a port name the destination containers declare (spec.containers[].ports[].name), or the number`,
  });
}

/** The protocol under which the destinations declare this name, when it is not the policy port's. */
function declaredElsewhere(port: PolicyPort, name: string, destinations: readonly Pod[]): string | undefined {
  for (const pod of destinations) {
    const declared = pod.ports.find((p) => p.name === name && p.protocol !== port.protocol);
    if (declared) return declared.protocol;
  }
  return undefined;
}
