// What a user must know before applying a proposal: pods it will cut off entirely, rules broader than one workload,
// flows it could not use, and any observed flow the real semantics would still deny.
import { podKey } from '../model/types.js';
import { selectablePod } from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { FlowCheck } from './check.js';
import { type ObservedFlows, flowName } from './observed-flows.js';
import type { Proposal } from './proposal.js';
import { workloadOf } from './workload.js';

export function proposalNotes(snapshot: Snapshot, observed: ObservedFlows, proposal: Proposal, checks: readonly FlowCheck[]): string[] {
  const notes: string[] = [];
  if (proposal.flows.length === 0) {
    notes.push(`no allowed flow of namespace ${proposal.namespace} was observed: the proposal is a default deny alone`);
  }
  for (const name of observed.unknownPods) {
    notes.push(`pod ${name} is named by flow records but not in the cluster's objects: its flows are left out`);
  }
  const seen = new Set(proposal.flows.flatMap((f) => [f.from, f.to]).flatMap((end) => (end.kind === 'pod' ? [podKey(end.pod)] : [])));
  for (const pod of snapshot.podsInNamespace(proposal.namespace)) {
    if (!selectablePod({ kind: 'pod', pod, ip: '' })) continue;
    if (!seen.has(podKey(pod))) notes.push(`pod ${podKey(pod)}: no flow observed, so the default deny cuts it off in both directions`);
    else if (Object.keys(workloadOf(pod).selector.matchLabels).length === 0) {
      notes.push(`pod ${podKey(pod)} has no labels naming its workload: the rules written for it apply to every pod of ${proposal.namespace}`);
    }
  }
  for (const check of checks) {
    switch (check.result) {
      case 'allowed':
        break;
      case 'denied':
        notes.push(`flow ${flowName(check.flow)} would still be denied (isolated by ${deniedBy(check.verdict)}): the cluster's other policies block it`);
        break;
      case 'unaddressable':
        notes.push(`flow ${flowName(check.flow)}: its two ends share no address family, so it could not be checked`);
        break;
      default: {
        const unreachable: never = check;
        return unreachable;
      }
    }
  }
  return notes;
}

function deniedBy(verdict: Extract<FlowCheck, { result: 'denied' }>['verdict']): string {
  const sides = [verdict.egress, verdict.ingress].flatMap((v) => (v.allowed ? [] : v.isolatedBy));
  return sides.join(', ');
}
