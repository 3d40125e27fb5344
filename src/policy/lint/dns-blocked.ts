import type { NetworkPolicy, Protocol } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { appliesTo, isolatingPolicies, matchingPortIndex, namedPortDestinations, selectedPods } from '../index.js';
import { countedPods } from './naming.js';
import { validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

const DNS_PORT = 53;
const DNS_PROTOCOLS: readonly Protocol[] = ['UDP', 'TCP'];

/**
 * Pods isolated for egress to which no egress rule admits DNS (UDP/53 and TCP/53, the latter for answers too large
 * for UDP), so name resolution fails: "the #1 Network Policy mistake" of the seed articles. One warning per policy
 * that isolates such pods.
 */
export const dnsBlocked: LintCheck = {
  id: 'dns-blocked',
  run: (snapshot) => {
    const admits = dnsAdmission(snapshot);
    return validPolicies(snapshot)
      .filter((policy) => appliesTo(policy, 'egress'))
      .flatMap((policy) => {
        const missingByPod = selectedPods(snapshot, policy).map((pod) => ({
          pod,
          missing: DNS_PROTOCOLS.filter((protocol) => !isolatingPolicies(snapshot, pod, 'egress').some((q) => admits(q, protocol))),
        }));
        const blocked = missingByPod.filter((p) => p.missing.length > 0);
        if (blocked.length === 0) return [];
        const missing = DNS_PROTOCOLS.filter((protocol) => blocked.some((p) => p.missing.includes(protocol)));
        const what =
          missing.length === 1 && missing[0] === 'TCP'
            ? 'admits UDP/53 but not TCP/53, so DNS answers too large for UDP fail'
            : `admits DNS (${missing.map((protocol) => `${protocol}/${DNS_PORT}`).join(', ')}), so name resolution fails`;
        return [
          policyWarning('dns-blocked', policy, {
            field: 'spec.egress',
            message: `isolates ${countedPods(blocked.map((p) => p.pod))} for egress, and no egress rule of the policies isolating them ${what}`,
            fix: 'allow egress to the cluster DNS (e.g. namespaceSelector kubernetes.io/metadata.name: kube-system with podSelector k8s-app: kube-dns) on UDP 53 and TCP 53',
          }),
        ];
      });
  },
};

/**
 * Whether some egress rule of a policy admits port 53 of a protocol to some destination: named ports resolved on
 * the pods the rule reaches, numeric ones anywhere. The rule's peers are not required to match pods of the
 * snapshot: the DNS servers are often not in the input, and a peer that matches nothing is reported on its own.
 */
function dnsAdmission(snapshot: Snapshot): (policy: NetworkPolicy, protocol: Protocol) => boolean {
  const memo = new Map<NetworkPolicy, Map<Protocol, boolean>>();
  return (policy, protocol) => {
    let perProtocol = memo.get(policy);
    if (!perProtocol) memo.set(policy, (perProtocol = new Map()));
    let admitted = perProtocol.get(protocol);
    if (admitted === undefined) {
      admitted = policy.egress.some((rule, i) =>
        [undefined, ...namedPortDestinations(snapshot, policy, 'egress', i)].some(
          (destination) => matchingPortIndex(rule.ports, destination, DNS_PORT, protocol) !== -1,
        ),
      );
      perProtocol.set(protocol, admitted);
    }
    return admitted;
  };
}
