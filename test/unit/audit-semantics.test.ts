// Audit mode (bulkhead.io/enforcement): which policies are audit, what the enforced verdict is, when a connection
// is audit, and the laws tying it to "every policy enforced".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readNamespace } from '../../src/model/index.js';
import { DIRECTIONS, type Labels, type Namespace, type NetworkPolicy } from '../../src/model/types.js';
import {
  ENFORCEMENT_ANNOTATION,
  auditingPolicies,
  connectionVerdict,
  enforcementErrors,
  enforcementMode,
  isolatingPolicies,
  selectablePod,
  sides,
} from '../../src/policy/index.js';
import { lint } from '../../src/policy/lint/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { clusterWithConnections } from '../support/arbitraries.js';
import { at, connection, containerPort, namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const annotated = (value: string | undefined): Labels => (value === undefined ? {} : { [ENFORCEMENT_ANNOTATION]: value });

function namespaceWith(name: string, value: string | undefined): Namespace {
  return value === undefined ? namespace(name) : { ...namespace(name), annotations: annotated(value) };
}

function withMode<P extends NetworkPolicy>(p: P, value: string | undefined): P {
  return { ...p, annotations: { ...p.annotations, ...annotated(value) } };
}

const web = pod('prod/web', { labels: { app: 'web' }, ips: ['10.0.0.10'], ports: [containerPort(80)], nodeName: 'n1' });
const client = pod('prod/client', { labels: { app: 'client' }, ips: ['10.0.0.20'], nodeName: 'n2' });
const denyIngress = policy('prod/deny-ingress', { podSelector: selector({ app: 'web' }), policyTypes: ['ingress'] });
const denyEgress = policy('prod/deny-egress', { podSelector: selector({ app: 'client' }), policyTypes: ['egress'] });
const allowClient = policy('prod/allow-client', {
  podSelector: selector({ app: 'web' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'client' }) })], [port(80)])],
});

describe('enforcement mode of a policy', () => {
  const cases: readonly { name: string; namespace?: string; policy?: string; mode: 'audit' | 'enforce'; errors: readonly string[] }[] = [
    { name: 'no annotation anywhere: enforce', mode: 'enforce', errors: [] },
    { name: 'policy annotated audit', policy: 'audit', mode: 'audit', errors: [] },
    { name: 'policy annotated enforce', policy: 'enforce', mode: 'enforce', errors: [] },
    { name: 'namespace annotated audit', namespace: 'audit', mode: 'audit', errors: [] },
    { name: 'namespace annotated enforce', namespace: 'enforce', mode: 'enforce', errors: [] },
    { name: 'policy enforce overrides an audit namespace', namespace: 'audit', policy: 'enforce', mode: 'enforce', errors: [] },
    { name: 'policy audit overrides an enforce namespace', namespace: 'enforce', policy: 'audit', mode: 'audit', errors: [] },
    { name: 'invalid on the policy: enforce, even in an audit namespace', namespace: 'audit', policy: 'Audit', mode: 'enforce', errors: ['NetworkPolicy prod/deny-ingress'] },
    { name: 'invalid on the namespace: enforce', namespace: 'dry-run', mode: 'enforce', errors: ['Namespace prod'] },
    { name: 'empty value on the policy: invalid, enforce', policy: '', mode: 'enforce', errors: ['NetworkPolicy prod/deny-ingress'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = withMode(denyIngress, c.policy);
      const snapshot = snapshotOf({ namespaces: [namespaceWith('prod', c.namespace)], pods: [web, client], policies: [p] });
      expect(enforcementMode(snapshot, p)).toBe(c.mode);
      const errors = enforcementErrors(snapshot);
      expect(errors.map((e) => e.object)).toEqual(c.errors);
      for (const error of errors) {
        expect(error.field).toBe('metadata.annotations["bulkhead.io/enforcement"]');
        expect(error.message).toMatch(/^Unsupported value: ".*": supported values: "audit", "enforce"; enforced until corrected \(fail closed\)$/);
      }
      // The enforced verdict: an audit deny-all isolates nothing, an enforced one denies.
      const verdict = connectionVerdict(snapshot, connection(at(client), at(web), 80));
      expect(verdict.allowed).toBe(c.mode === 'audit');
      expect(verdict.audit).toBe(c.mode === 'audit' ? true : undefined);
    });
  }

  it('the namespace annotation covers only its own policies', () => {
    const dev = pod('dev/web', { labels: { app: 'web' }, ips: ['10.0.1.10'] });
    const devDeny = policy('dev/deny-ingress', { podSelector: selector({ app: 'web' }), policyTypes: ['ingress'] });
    const snapshot = snapshotOf({ namespaces: [namespaceWith('prod', 'audit'), namespace('dev')], pods: [web, dev], policies: [denyIngress, devDeny] });
    expect(enforcementMode(snapshot, denyIngress)).toBe('audit');
    expect(enforcementMode(snapshot, devDeny)).toBe('enforce');
  });
});

describe('verdicts with audit-mode policies', () => {
  it('an audit deny-all: allowed, and the ingress direction says which audit policies would deny it', () => {
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [withMode(denyIngress, 'audit')] });
    expect(connectionVerdict(snapshot, connection(at(client), at(web), 80))).toEqual({
      allowed: true,
      audit: true,
      egress: { allowed: true, reason: 'not-isolated' },
      ingress: { allowed: true, reason: 'not-isolated', audit: { allowed: false, auditedBy: ['prod/deny-ingress'] } },
    });
    expect(isolatingPolicies(snapshot, web, 'ingress')).toEqual([]);
    expect(auditingPolicies(snapshot, web, 'ingress').map((p) => p.name)).toEqual(['deny-ingress']);
  });

  it('an audit policy that admits the connection: allowed, not audit, its rule named', () => {
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [withMode(allowClient, 'audit')] });
    const verdict = connectionVerdict(snapshot, connection(at(client), at(web), 80));
    expect(verdict.audit).toBeUndefined();
    expect(verdict.ingress).toEqual({
      allowed: true,
      reason: 'not-isolated',
      audit: { allowed: true, auditedBy: ['prod/allow-client'], rules: [{ policy: 'prod/allow-client', direction: 'ingress', rule: 0, peer: 0, port: 0 }] },
    });
    // Another port: the audit policy would deny it.
    expect(connectionVerdict(snapshot, connection(at(client), at(web), 81)).audit).toBe(true);
  });

  it('mixed on one pod: an enforce policy isolates ingress, so the audit policy adds nothing there', () => {
    const auditDeny = withMode({ ...denyIngress, name: 'audit-deny' }, 'audit');
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [allowClient, auditDeny] });
    expect(auditingPolicies(snapshot, web, 'ingress')).toEqual([]);
    expect(isolatingPolicies(snapshot, web, 'ingress').map((p) => p.name)).toEqual(['allow-client']);
    const admitted = connectionVerdict(snapshot, connection(at(client), at(web), 80));
    expect(admitted).toMatchObject({ allowed: true, ingress: { reason: 'rule', isolatedBy: ['prod/allow-client'] } });
    expect(admitted.audit).toBeUndefined();
    const denied = connectionVerdict(snapshot, connection(at(client), at(web), 81));
    expect(denied).toMatchObject({ allowed: false, ingress: { reason: 'isolated', isolatedBy: ['prod/allow-client'] } });
    expect(denied.audit).toBeUndefined();
  });

  it('both directions: audit egress at the source, enforced ingress at the destination', () => {
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [withMode(denyEgress, 'audit'), allowClient] });
    const admitted = connectionVerdict(snapshot, connection(at(client), at(web), 80));
    expect(admitted).toMatchObject({ allowed: true, audit: true, egress: { reason: 'not-isolated', audit: { allowed: false, auditedBy: ['prod/deny-egress'] } } });
    // Denied by the enforced ingress policy: not audit (it does not pass), though the egress audit still reports.
    const denied = connectionVerdict(snapshot, connection(at(client), at(web), 81));
    expect(denied.allowed).toBe(false);
    expect(denied.audit).toBeUndefined();
    expect(denied.egress).toMatchObject({ reason: 'not-isolated', audit: { allowed: false } });
  });

  it('audit in both directions of one pod, one policy', () => {
    const both = withMode(policy('prod/lockdown', { podSelector: selector({ app: 'web' }), policyTypes: ['ingress', 'egress'] }), 'audit');
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [both] });
    for (const direction of DIRECTIONS) expect(auditingPolicies(snapshot, web, direction).map((p) => p.name)).toEqual(['lockdown']);
    expect(connectionVerdict(snapshot, connection(at(client), at(web), 80))).toMatchObject({ allowed: true, audit: true, ingress: { audit: { allowed: false } } });
    expect(connectionVerdict(snapshot, connection(at(web), at(client), 80))).toMatchObject({ allowed: true, audit: true, egress: { audit: { allowed: false } } });
  });

  it('a pod talking to itself or an unselected peer is never audit', () => {
    const snapshot = snapshotOf({ namespaces: [namespace('prod')], pods: [web, client], policies: [withMode(denyIngress, 'audit')] });
    expect(connectionVerdict(snapshot, connection(at(web), at(web), 80))).toEqual({
      allowed: true,
      egress: { allowed: true, reason: 'loopback' },
      ingress: { allowed: true, reason: 'loopback' },
    });
    expect(connectionVerdict(snapshot, connection(at(web), at(client), 80)).audit).toBeUndefined();
  });
});

describe('laws of audit mode on random clusters', () => {
  const RUNS = { numRuns: 100 };
  const modes = fc.constantFrom<string | undefined>(undefined, undefined, 'audit', 'enforce', 'bogus');

  it('without enforcement annotations, verdicts carry no audit and every selecting policy isolates', () => {
    fc.assert(
      fc.property(clusterWithConnections(), ({ cluster, connections }) => {
        const snapshot = buildSnapshot(cluster);
        for (const conn of connections) {
          const verdict = connectionVerdict(snapshot, conn);
          expect(verdict.audit).toBeUndefined();
          for (const direction of DIRECTIONS) {
            const v = verdict[direction];
            if (v.reason === 'not-isolated') expect(v.audit).toBeUndefined();
            const subject = selectablePod(sides(conn, direction).subject);
            if (subject) expect(auditingPolicies(snapshot, subject, direction)).toEqual([]);
          }
        }
      }),
      RUNS,
    );
  });

  it('enforced verdict = audit policies removed; audit = allowed yet denied with every policy enforced', () => {
    fc.assert(
      fc.property(
        clusterWithConnections().chain((world) =>
          fc.record({
            world: fc.constant(world),
            policyModes: fc.array(modes, { minLength: world.cluster.policies.length, maxLength: world.cluster.policies.length }),
            namespaceModes: fc.array(modes, { minLength: world.cluster.namespaces.length, maxLength: world.cluster.namespaces.length }),
          }),
        ),
        ({ world: { cluster, connections }, policyModes, namespaceModes }) => {
          const namespaces = cluster.namespaces.map((ns, i) => (namespaceModes[i] === undefined ? ns : { ...ns, annotations: annotated(namespaceModes[i]) }));
          const policies = cluster.policies.map((p, i) => withMode(p, policyModes[i]));
          const snapshot = buildSnapshot({ ...cluster, namespaces, policies });
          const enforcedOnly = buildSnapshot({ ...cluster, policies: policies.filter((p) => enforcementMode(snapshot, p) === 'enforce') });
          const allEnforced = buildSnapshot({ ...cluster, policies: cluster.policies });
          for (const conn of connections) {
            const verdict = connectionVerdict(snapshot, conn);
            const enforced = connectionVerdict(enforcedOnly, conn);
            expect(verdict.allowed).toBe(enforced.allowed);
            expect(verdict.egress.reason).toBe(enforced.egress.reason);
            expect(verdict.ingress.reason).toBe(enforced.ingress.reason);
            const wouldDeny = !connectionVerdict(allEnforced, conn).allowed;
            expect(verdict.audit === true, JSON.stringify(verdict)).toBe(verdict.allowed && wouldDeny);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('reading the annotation', () => {
  it('a Namespace keeps its annotations (only when it has some), as the watch and manifests read it', () => {
    const read = (metadata: object) => readNamespace({ source: 'ns.yaml', kind: 'Namespace', apiVersion: 'v1', body: { metadata } }, undefined).namespace;
    expect(read({ name: 'prod', annotations: { [ENFORCEMENT_ANNOTATION]: 'audit' } })?.annotations).toEqual({ [ENFORCEMENT_ANNOTATION]: 'audit' });
    expect(read({ name: 'prod' })).toEqual({ name: 'prod', labels: { 'kubernetes.io/metadata.name': 'prod' }, implicit: false });
  });
});

describe('lint', () => {
  it('warns about an enforcement annotation that is neither audit nor enforce, at the object and field', () => {
    const snapshot = snapshotOf({
      namespaces: [namespaceWith('prod', 'dry-run')],
      pods: [web, client],
      policies: [withMode(denyIngress, 'Audit'), withMode(denyEgress, 'audit')],
    });
    expect(lint(snapshot).filter((w) => w.check === 'invalid-enforcement')).toEqual([
      {
        check: 'invalid-enforcement',
        object: 'Namespace prod',
        field: 'metadata.annotations["bulkhead.io/enforcement"]',
        message: 'Unsupported value: "dry-run": supported values: "audit", "enforce"; enforced until corrected (fail closed)',
        fix: 'write "audit" to count what the policies would deny and let it pass, or "enforce" (or remove the annotation) to enforce them',
      },
      {
        check: 'invalid-enforcement',
        object: 'NetworkPolicy prod/deny-ingress',
        field: 'metadata.annotations["bulkhead.io/enforcement"]',
        message: 'Unsupported value: "Audit": supported values: "audit", "enforce"; enforced until corrected (fail closed)',
        fix: 'write "audit" to count what the policies would deny and let it pass, or "enforce" (or remove the annotation) to enforce them',
      },
    ]);
  });
});
