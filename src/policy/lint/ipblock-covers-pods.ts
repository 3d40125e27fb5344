import { podsAddressedBy } from '../index.js';
import { countedPods } from './naming.js';
import { enforcedRules, peersOf, validPolicies } from './walk.js';
import { type LintCheck, policyWarning } from './warning.js';

/**
 * An ipBlock (less its excepts) that holds pod addresses. The API reference means ipBlock for cluster-external
 * addresses and leaves its effect on pod traffic to the implementation (Bulkhead matches it, others may not), and
 * pod IPs come and go: pods are named by selectors. hostNetwork pods hold node addresses, which only ipBlock can name.
 */
export const ipBlockCoversPods: LintCheck = {
  id: 'ipblock-covers-pods',
  run: (snapshot) =>
    validPolicies(snapshot).flatMap((policy) =>
      enforcedRules(policy).flatMap((rule) =>
        peersOf(rule).flatMap(({ peer, field }) => {
          if (peer.kind !== 'ipBlock') return [];
          const pods = podsAddressedBy(snapshot, peer.ipBlock).filter((pod) => !pod.hostNetwork);
          if (pods.length === 0) return [];
          return [
            policyWarning('ipblock-covers-pods', policy, {
              field: `${field}.ipBlock`,
              message: `ipBlock ${peer.ipBlock.cidr} holds the addresses of ${countedPods(pods)}: whether ipBlock matches pod traffic is implementation-defined, and pod IPs change`,
              fix: 'name those pods with a podSelector/namespaceSelector peer, and add the pod network to except if it is not meant',
            }),
          ];
        }),
      ),
    ),
};
