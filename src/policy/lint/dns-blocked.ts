import { ipFamily } from '../../model/addresses.js';
import type { NetworkPolicy, Pod, Protocol } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { appliesTo, directionVerdict, isolatingPolicies, matchingPortIndex, namedPortDestinations, selectedPods } from '../index.js';
import { countedPods } from './naming.js';
import { validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

const DNS_PORT = 53;
// The label every common cluster DNS (CoreDNS, kube-dns) carries.
const DNS_SERVER_LABEL = 'k8s-app';
const DNS_SERVER_VALUE = 'kube-dns';
const DNS_PROTOCOLS: readonly Protocol[] = ['UDP', 'TCP'];

/**
 * Pods isolated for egress to which no egress rule admits DNS (UDP/53 and TCP/53, the latter for answers too large
 * for UDP), so name resolution fails. Judged by the verdict towards the cluster DNS pods (k8s-app=kube-dns) when
 * the snapshot has them, else by whether any egress rule admits port 53 at all: "the #1 Network Policy mistake" of the seed articles. One warning per policy
 * that isolates such pods.
 */
export const dnsBlocked: LintCheck = {
  id: 'dns-blocked',
  run: (snapshot) => {
    const admits = dnsAdmission(snapshot);
    const servers = snapshot.pods.filter((pod) => !pod.hostNetwork && pod.labels[DNS_SERVER_LABEL] === DNS_SERVER_VALUE);
    return validPolicies(snapshot)
      .filter((policy) => appliesTo(policy, 'egress'))
      .flatMap((policy) => {
        const missingByPod = selectedPods(snapshot, policy).map((pod) => ({
          pod,
          missing: DNS_PROTOCOLS.filter((protocol) =>
            servers.length > 0
              ? !servers.some((server) => egressAllowed(snapshot, pod, server, protocol))
              : !isolatingPolicies(snapshot, pod, 'egress').some((q) => admits(q, protocol)),
          ),
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

/** Whether the pod's egress verdict admits DNS to this server (the server's own ingress is not lint's concern here). */
function egressAllowed(snapshot: Snapshot, pod: Pod, server: Pod, protocol: Protocol): boolean {
  const addresses = pod.ips.flatMap((from) => server.ips.filter((to) => ipFamily(to) === ipFamily(from)).map((to) => ({ from, to })));
  return addresses.some(({ from, to }) =>
    directionVerdict(
      snapshot,
      { from: { kind: 'pod', pod, ip: from }, to: { kind: 'pod', pod: server, ip: to }, port: DNS_PORT, protocol },
      'egress',
    ).allowed,
  );
}

/**
 * When the snapshot has no DNS server pods: whether some egress rule of a policy admits port 53 of a protocol to some destination: named ports resolved on
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
