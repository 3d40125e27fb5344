// The proposal as users apply it: multi-document YAML whose comments say what each policy is for and which
// observed flows each rule keeps working, or JSON with the same facts as fields.
import { Document } from 'yaml';
import { policyManifest } from '../model/policy-manifest.js';
import { podKey } from '../model/types.js';
import { formatSelector } from '../policy/index.js';
import { type ObservedFlow, flowName } from './observed-flows.js';
import type { Proposal, ProposedPolicy } from './proposal.js';

export function renderYaml(proposal: Proposal): string {
  const documents = proposal.policies.map((proposed, i) => {
    const doc = new Document(policyManifest(proposed.policy));
    const about = purposeLine(proposal.namespace, proposed);
    doc.commentBefore = i === 0 ? [...header(proposal), '', about].map(commentText).join('\n') : commentText(about);
    for (const rule of proposed.rules) {
      const node = doc.getIn(['spec', rule.direction, rule.index], true) as { commentBefore?: string };
      node.commentBefore = rule.flows.map((flow) => commentText(`covers ${describeFlow(flow)}`)).join('\n');
    }
    return doc.toString({ lineWidth: 0 });
  });
  return documents.join('---\n');
}

export function renderJson(proposal: Proposal): string {
  return JSON.stringify(
    {
      namespace: proposal.namespace,
      flows: proposal.flows.map(flowObject),
      policies: proposal.policies.map((p) => policyManifest(p.policy)),
      rules: proposal.policies.flatMap((p) =>
        p.rules.map((rule) => ({ policy: p.policy.name, direction: rule.direction, rule: rule.index, flows: rule.flows.map(flowName) })),
      ),
    },
    null,
    2,
  );
}

function header(proposal: Proposal): string[] {
  const records = proposal.flows.reduce((sum, f) => sum + f.records, 0);
  const times = proposal.flows.flatMap((f) => [f.firstSeen, f.lastSeen]).sort();
  const span = times.length > 0 ? `, seen from ${times[0]} to ${times[times.length - 1]}` : '';
  return [
    `NetworkPolicies proposed by \`bulkhead advise\` for namespace ${proposal.namespace}:`,
    `${proposal.flows.length} observed flows (${records} allowed records${span}).`,
    'Beside the cluster\'s other policies they allow every observed flow, and beyond them only what each rule',
    'states: any pod its selectors match, on the ports it names.',
  ];
}

function purposeLine(namespace: string, proposed: ProposedPolicy): string {
  switch (proposed.purpose) {
    case 'default-deny':
      return `${proposed.policy.name}: isolates every pod of ${namespace} in both directions; the policies below open what was observed.`;
    case 'dns':
      return `${proposed.policy.name}: pods of ${namespace} looked names up, so every pod of it may reach the resolvers on 53 UDP and TCP.`;
    case 'workload':
      return `${proposed.policy.name}: what the pods matching ${formatSelector(proposed.policy.podSelector)} were seen sending and receiving.`;
    default: {
      const unreachable: never = proposed.purpose;
      return unreachable;
    }
  }
}

function describeFlow(flow: ObservedFlow): string {
  return `${flowName(flow)} (${flow.records} ${flow.records === 1 ? 'record' : 'records'})`;
}

function flowObject(flow: ObservedFlow) {
  const [from, to] = [flow.from, flow.to].map((end) => (end.kind === 'pod' ? podKey(end.pod) : end.ip));
  return { from, to, port: flow.port, protocol: flow.protocol, records: flow.records, firstSeen: flow.firstSeen, lastSeen: flow.lastSeen };
}

// yaml puts '#' before each line of a comment; a leading space keeps `# text` readable.
function commentText(line: string): string {
  return line === '' ? '' : ` ${line}`;
}

/** The manifest of a proposed policy: only the forms the advisor writes (matchLabels selectors, /32 or /128 blocks). */





