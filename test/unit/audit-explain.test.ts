// Audit mode in what users read: explain (objects and words) says when a verdict is audit-only, simulate marks
// audit cells `A` and its JSON gains `audit: true` only where it applies.
import { describe, expect, it } from 'vitest';
import { renderConnectionExplanation, renderPodExplanation } from '../../src/cli/explain.js';
import { renderNodeView } from '../../src/cli/node-view.js';
import { renderJson, renderTable, simulate } from '../../src/cli/simulate.js';
import { connectionExplanation, podExplanation } from '../../src/explain/index.js';
import type { NetworkPolicy } from '../../src/model/types.js';
import { ENFORCEMENT_ANNOTATION } from '../../src/policy/index.js';
import { at, connection, containerPort, namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const audited = (p: NetworkPolicy): NetworkPolicy => ({ ...p, annotations: { [ENFORCEMENT_ANNOTATION]: 'audit' } });
const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.0.0.10'], ports: [containerPort(80, 'http'), containerPort(81)], nodeName: 'n1' });
const client = pod('prod/client', { labels: { app: 'client' }, ips: ['10.0.0.20'], nodeName: 'n2' });
const webFromClient = audited(
  policy('prod/web-from-client', { podSelector: selector({ app: 'web' }), ingress: [rule([podPeer({ podSelector: selector({ app: 'client' }) })], [port(80)])] }),
);
const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [webFromClient] });

describe('explain with audit-mode policies', () => {
  it('a connection audit policies would deny: allowed, audit, and which policies would deny it', () => {
    const explanation = connectionExplanation(snapshot, connection(at(client), at(web), 81));
    expect(explanation).toMatchObject({
      allowed: true,
      audit: true,
      ingress: { subject: 'prod/web', allowed: true, reason: 'not-isolated', audit: { allowed: false, auditedBy: ['prod/web-from-client'] } },
    });
    expect(JSON.parse(JSON.stringify(explanation))).toEqual(explanation);
    const text = renderConnectionExplanation(explanation);
    expect(text.split('\n')[0]).toBe('prod/client (10.0.0.20) -> prod/web (10.0.0.10) 81/TCP: ALLOWED (audit only: audit-mode policies would deny it)');
    expect(text).toContain('Ingress to prod/web: allowed, but audit policies prod/web-from-client would deny it (it passes and is counted as audit)');
  });

  it('a connection audit policies would allow: not audit, with the audit rule that would admit it', () => {
    const explanation = connectionExplanation(snapshot, connection(at(client), at(web), 80));
    expect(explanation.audit).toBeUndefined();
    expect(explanation.ingress).toMatchObject({
      reason: 'not-isolated',
      audit: { allowed: true, auditedBy: ['prod/web-from-client'], rules: [{ policy: 'prod/web-from-client', rule: 0, matchedPort: { protocol: 'TCP', port: 80 } }] },
    });
    const text = renderConnectionExplanation(explanation);
    expect(text.split('\n')[0]).toMatch(/: ALLOWED$/);
    expect(text).toContain('audit policies prod/web-from-client would allow it too');
    expect(text).toContain('  audit: would be admitted by NetworkPolicy prod/web-from-client spec.ingress[0]: from[0] pods app=client in namespace prod, ports[0] TCP/80');
  });

  it('a pod: not isolated, with the audit policies that would isolate it and their rules', () => {
    const explanation = podExplanation(snapshot, web, { reachability: false });
    expect(explanation.ingress).toEqual({
      isolated: false,
      policies: [],
      audit: [{ policy: 'prod/web-from-client', errors: [], rules: [{ peers: webFromClient.ingress[0]!.peers, ports: [port(80)] }] }],
    });
    expect(explanation.egress).toEqual({ isolated: false, policies: [] });
    const text = renderPodExplanation(explanation);
    expect(text).toContain('Ingress: not isolated; audit policies prod/web-from-client would isolate it: all ingress allowed, what they would deny is counted as audit');
    expect(text).toContain('  - prod/web-from-client spec.ingress[0]: pods app=client in namespace prod; TCP/80');
  });
});

describe('simulate with audit-mode policies', () => {
  const results = simulate(snapshot, { probes: [], externalIPs: [] });

  it('marks audit cells A, says how many, and adds audit: true to their JSON only', () => {
    const table = renderTable(results);
    expect(table).toContain("'A' allowed, audit policies would deny it");
    // web is the one destination that declares ports; client reaching it on 81 is the audit connection.
    expect(table).toContain('Probe 80/TCP\nfrom \\ to    1\nprod/client  .\nprod/web     .\n');
    expect(table).toContain('Probe 81/TCP\nfrom \\ to    1\nprod/client  A\nprod/web     .\n');
    expect(table).toContain('connections: 4 allowed (1 of them audit: audit-mode policies would deny them), 0 denied');
    const json = JSON.parse(renderJson(results)) as { results: Record<string, unknown>[] };
    expect(json.results.filter((r) => 'audit' in r).map((r) => [r['from'], r['to'], r['port'], r['audit']])).toEqual([['prod/client', 'prod/web', 81, true]]);
  });

  it('without audit policies, the legend and the JSON are as before', () => {
    const plain = simulate(snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [] }), { probes: [], externalIPs: [] });
    expect(renderTable(plain)).not.toContain("'A'");
    expect(renderJson(plain)).not.toContain('"audit"');
  });
});

describe('the node view of an audited pod (bulkhead agent explain)', () => {
  const view = (ingressChain: boolean) => ({
    name: 'n1',
    rulesInKernel: { ingress: ingressChain, egress: false },
    kernelRules: { ingress: ingressChain ? ['counter name "audit_in_prod_web"'] : [], egress: [] },
    drops: { ingress: { packets: 0, bytes: 0 }, egress: { packets: 0, bytes: 0 } },
  });

  it('expects the audit chain in the kernel, and says so when it is missing', () => {
    const pod = podExplanation(snapshot, web, { reachability: false });
    expect(renderNodeView({ ...pod, node: view(true) }, 'http://n1:9650')).not.toContain('the agent');
    expect(renderNodeView({ ...pod, node: view(false) }, 'http://n1:9650')).toContain(
      "  Ingress of prod/web: no chain in the kernel; dropped 0 packets (0 bytes)\n    the agent's view audits it, but the kernel holds no ingress audit chain: not counted here yet",
    );
    const conn = connectionExplanation(snapshot, connection(at(client), at(web), 81));
    expect(renderNodeView({ ...conn, node: { name: 'n1', to: view(true) } }, 'http://n1:9650')).not.toContain('the agent');
  });
});
