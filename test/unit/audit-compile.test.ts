// Audit mode in the compiler: a local pod isolated in a direction only by audit-mode policies gets a chain of
// those policies' rules that logs and counts what they would deny in its audit counter and lets it pass;
// enforce-isolated pods' chains hold enforce-mode policies only. Golden pod chains, the real nft takes the plan,
// and laws on random clusters. Regenerate the golden file with UPDATE_GOLDEN=1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kernelDrift, parseTableListing } from '../../src/agent/drift/index.js';
import { POLICY_TABLE, type Plan, compilePlan, createCompiler, fullTransaction } from '../../src/compile/index.js';
import type { Labels, Namespace, NetworkPolicy } from '../../src/model/types.js';
import { ENFORCEMENT_ANNOTATION, enforcementMode } from '../../src/policy/index.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { clusterArbitrary, nodeName } from '../support/arbitraries.js';
import { containerPort, everything, namespace, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', 'audit', 'pod-chains.json');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const NODE = 'node-a';

const mode = (value: string): Labels => ({ [ENFORCEMENT_ANNOTATION]: value });
const audited = <P extends NetworkPolicy>(p: P): P => ({ ...p, annotations: mode('audit') });
const app = (name: string) => selector({ app: name });

const namespaces: Namespace[] = [namespace('prod'), { ...namespace('staging'), annotations: mode('audit') }];
const pods = [
  pod('prod/web', { labels: { app: 'web' }, ips: ['10.244.1.10', 'fd00:10:244:1::a'], nodeName: NODE, ports: [containerPort(80, 'http')] }),
  pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.20'], nodeName: NODE, ports: [containerPort(5432)] }),
  pod('prod/client', { labels: { app: 'client' }, ips: ['10.244.2.30'], nodeName: 'node-b' }),
  pod('staging/api', { labels: { app: 'api' }, ips: ['10.244.1.40'], nodeName: NODE }),
];
const policies = [
  // prod/web: audited by a deny-all in each direction (the allowing rules of audit chains are those of enforced
  // ones: staging/api-from-prod shows one).
  audited(policy('prod/web-deny-ingress', { podSelector: app('web'), policyTypes: ['ingress'] })),
  audited(policy('prod/web-no-egress', { podSelector: app('web'), policyTypes: ['egress'] })),
  // prod/db: enforced from web on 5432; the audit deny-all on the same pod adds nothing.
  policy('prod/db-from-web', { podSelector: app('db'), ingress: [rule([podPeer({ podSelector: app('web') })], [port(5432)])] }),
  audited(policy('prod/db-lockdown', { podSelector: app('db'), policyTypes: ['ingress'] })),
  // staging is an audit namespace: its policies are audit unless they say otherwise.
  policy('staging/api-from-prod', { podSelector: everything(), ingress: [rule([podPeer({ namespaceSelector: selector({ 'kubernetes.io/metadata.name': 'prod' }) })])] }),
];

function compile(ns: readonly Namespace[], ps: readonly NetworkPolicy[]) {
  return compilePlan(snapshotOf({ namespaces: ns, pods, policies: ps }), { nodeName: NODE, bindings: [] });
}

/** The parts of the plan audit mode shapes: pod chains (base chains belong to the dispatch), named counters, owners. */
function auditView(plan: Plan) {
  const table = plan.tables.find((t) => t.family === POLICY_TABLE.family && t.name === POLICY_TABLE.name)!;
  return {
    counters: table.counters,
    dropCounters: plan.counters,
    auditCounters: plan.auditCounters,
    podChains: table.chains.filter((chain) => chain.hook === undefined),
  };
}

describe('compiling audit-mode policies', () => {
  const result = compile(namespaces, policies);

  it('golden pod chains and counters', () => {
    const text = `${JSON.stringify(auditView(result.plan), null, 2)}\n`;
    if (UPDATE) writeFileSync(GOLDEN, text);
    expect(text, 'golden test/golden/audit/pod-chains.json differs (UPDATE_GOLDEN=1 regenerates)').toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('gives audit-only pods audit counters owned by their audit policies, and enforced pods drop counters', () => {
    expect(result.plan.counters).toEqual({ drop_in_prod_db: { namespace: 'prod', pod: 'db', direction: 'ingress' } });
    expect(result.plan.auditCounters).toEqual({
      audit_in_prod_web: { namespace: 'prod', pod: 'web', direction: 'ingress', policies: ['prod/web-deny-ingress'] },
      audit_in_staging_api: { namespace: 'staging', pod: 'api', direction: 'ingress', policies: ['staging/api-from-prod'] },
      audit_out_prod_web: { namespace: 'prod', pod: 'web', direction: 'egress', policies: ['prod/web-no-egress'] },
    });
    const db = auditView(result.plan).podChains.find((c) => c.name === 'pod_in_prod_db')!;
    expect([...new Set(db.rules.map((r) => r.comment).filter((c) => c !== undefined))]).toEqual(['prod/db-from-web ingress[0]']);
    expect(db.rules.at(-1)!.expr).toEqual([{ counter: 'drop_in_prod_db' }, { drop: null }]);
    const web = auditView(result.plan).podChains.find((c) => c.name === 'pod_out_prod_web')!;
    expect(web.rules.at(-2)!.expr).toContainEqual({ log: expect.objectContaining({ prefix: 'audit_out_prod_web', group: 8421 }) });
    // No verdict: back to the dispatching chain, as an allowed packet.
    expect(web.rules.at(-1)!.expr).toEqual([{ counter: 'audit_out_prod_web' }]);
  });

  it('flipping the mode is one plan change: enforce gives the same pod a drop counter in place of its audit counter', () => {
    const enforced = compile(
      namespaces.map((ns) => ({ ...ns, annotations: mode('enforce') })),
      policies.map((p) => ({ ...p, annotations: {} })),
    );
    expect(enforced.plan.auditCounters).toBeUndefined();
    expect(Object.keys(enforced.plan.counters)).toEqual(['drop_in_prod_db', 'drop_in_prod_web', 'drop_in_staging_api', 'drop_out_prod_web']);
  });

  it('reports an enforcement annotation it cannot read, where this node has pods, and enforces', () => {
    const bad = compile(namespaces, [{ ...policies[0]!, annotations: mode('warn') }, ...policies.slice(1)]);
    expect(bad.problems.filter((p) => p.kind === 'invalid-annotation')).toEqual([
      {
        kind: 'invalid-annotation',
        object: 'NetworkPolicy prod/web-deny-ingress',
        field: 'metadata.annotations["bulkhead.io/enforcement"]',
        message: 'Unsupported value: "warn": supported values: "audit", "enforce"; enforced until corrected (fail closed)',
      },
    ]);
    expect(bad.plan.counters).toHaveProperty('drop_in_prod_web');
  });

  it('the real nft takes the plan, audit chains and counters included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bh-audit-'));
    const netns = `bha-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', netns]);
    try {
      const file = join(dir, 'full.json');
      writeFileSync(file, JSON.stringify(fullTransaction(result.plan)));
      execFileSync('ip', ['netns', 'exec', netns, 'nft', '-j', '-f', file]);
      const chain = execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'chain', 'inet', 'bulkhead', 'pod_in_prod_web'], { encoding: 'utf8' });
      expect(chain).toMatch(/limit rate 10\/second burst 20 packets log prefix "audit_in_prod_web" group 8421[^\n]*\n\s*counter name "audit_in_prod_web"\n\s*\}/);
      const counters = execFileSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'counters', 'table', 'inet', 'bulkhead'], { encoding: 'utf8' });
      for (const name of ['audit_in_prod_web', 'audit_out_prod_web', 'audit_in_staging_api', 'drop_in_prod_db']) expect(counters).toContain(`counter ${name} {`);
      // The drift checker reads the audit chains back as planned, their verdict-less last rule included.
      const listings = result.plan.tables.map((table) =>
        parseTableListing(table, execFileSync('ip', ['netns', 'exec', netns, 'nft', '-j', 'list', 'table', table.family, table.name], { encoding: 'utf8' })),
      );
      expect(kernelDrift(result.plan, listings)).toEqual([]);
    } finally {
      execFileSync('ip', ['netns', 'delete', netns]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('laws of audit compilation on random clusters', () => {
  const modes = fc.constantFrom<string | undefined>(undefined, 'audit', 'enforce');
  const world = clusterArbitrary().chain((cluster) =>
    fc.record({
      cluster: fc.constant(cluster),
      policyModes: fc.array(modes, { minLength: cluster.policies.length, maxLength: cluster.policies.length }),
      namespaceModes: fc.array(modes, { minLength: cluster.namespaces.length, maxLength: cluster.namespaces.length }),
    }),
  );
  const annotate = <T extends { annotations?: Labels }>(object: T, value: string | undefined): T =>
    value === undefined ? object : { ...object, annotations: { ...object.annotations, ...mode(value) } };

  it('drop counters and enforced chains are those of the cluster without its audit policies; no annotation, no audit', () => {
    fc.assert(
      fc.property(world, ({ cluster, policyModes, namespaceModes }) => {
        const options = { nodeName: nodeName(0), bindings: [] };
        const namespaces = cluster.namespaces.map((ns, i) => annotate(ns, namespaceModes[i]));
        const annotated = cluster.policies.map((p, i) => annotate(p, policyModes[i]));
        const snapshot = buildSnapshot({ ...cluster, namespaces, policies: annotated });
        const withAudit = compilePlan(snapshot, options).plan;
        const enforcedOnly = compilePlan(
          buildSnapshot({ ...cluster, policies: annotated.filter((p) => enforcementMode(snapshot, p) === 'enforce') }),
          options,
        ).plan;
        expect(withAudit.counters).toEqual(enforcedOnly.counters);
        const chains = (plan: Plan) => new Map(plan.tables.flatMap((t) => t.chains).map((c) => [c.name, c]));
        const audit = chains(withAudit);
        for (const [name, chain] of chains(enforcedOnly)) {
          if (chain.hook === undefined) expect(audit.get(name)).toEqual(chain);
        }
        for (const [counter, owner] of Object.entries(withAudit.auditCounters ?? {})) {
          expect(Object.values(withAudit.counters)).not.toContainEqual({ namespace: owner.namespace, pod: owner.pod, direction: owner.direction });
          expect(owner.policies.length).toBeGreaterThan(0);
          expect(counter.startsWith(owner.direction === 'ingress' ? 'audit_in_' : 'audit_out_')).toBe(true);
        }
        if (policyModes.every((m) => m !== 'audit') && namespaceModes.every((m) => m !== 'audit')) expect(withAudit.auditCounters).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('the long-lived compiler follows a namespace flipping between audit and enforce, policies unchanged', () => {
    fc.assert(
      fc.property(world, fc.array(fc.constantFrom('audit', 'enforce'), { minLength: 1, maxLength: 4 }), ({ cluster }, flips) => {
        const compiler = createCompiler();
        const options = { nodeName: nodeName(0), bindings: [] };
        compiler.compile(buildSnapshot(cluster), options);
        for (const value of flips) {
          const snapshot = buildSnapshot({ ...cluster, namespaces: cluster.namespaces.map((ns) => annotate(ns, value)) });
          expect(JSON.stringify(compiler.compile(snapshot, options))).toBe(JSON.stringify(compilePlan(snapshot, options)));
        }
      }),
      { numRuns: 60 },
    );
  });
});

