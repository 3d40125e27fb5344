import { describe, expect, it } from 'vitest';
import { explainConnection, explainPod } from '../../src/cli/explain.js';
import { renderJson, renderTable, simulate } from '../../src/cli/simulate.js';
import { at, connection, containerPort, external, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const frontend = pod('default/frontend', { labels: { app: 'frontend' }, ips: ['10.244.0.10'] });
const backend = pod('default/backend', { labels: { app: 'backend' }, ips: ['10.244.0.11'], ports: [containerPort(80, 'http')] });
const database = pod('default/database', { labels: { app: 'database' }, ips: ['10.244.0.12'], ports: [containerPort(5432)] });
const allowFrontend = policy('default/allow-frontend', {
  podSelector: selector({ app: 'backend' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'frontend' }) })], [port('http')])],
});
const denyDb = policy('default/deny-db', { podSelector: selector({ app: 'database' }) });
const snapshot = snapshotOf({ pods: [frontend, backend, database], policies: [allowFrontend, denyDb] });

describe('simulate', () => {
  const results = simulate(snapshot, { probes: [], externalIPs: [] });

  it('probes each destination on its declared ports', () => {
    expect(results.map((r) => `${r.from}>${r.to}:${r.port}/${r.protocol}=${r.allowed}`)).toEqual([
      'default/backend>default/backend:80/TCP=true',
      'default/backend>default/database:5432/TCP=false',
      'default/database>default/backend:80/TCP=false',
      'default/database>default/database:5432/TCP=true',
      'default/frontend>default/backend:80/TCP=true',
      'default/frontend>default/database:5432/TCP=false',
    ]);
  });

  it('renders the JSON contract with reasons per direction', () => {
    const parsed = JSON.parse(renderJson(results)) as { results: Record<string, unknown>[] };
    const row = parsed.results.find((r) => r.from === 'default/frontend' && r.to === 'default/backend');
    expect(row).toEqual({
      from: 'default/frontend',
      to: 'default/backend',
      port: 80,
      protocol: 'TCP',
      allowed: true,
      egress: { allowed: true, reason: 'not-isolated' },
      ingress: {
        allowed: true,
        reason: 'rule',
        isolatedBy: ['default/allow-frontend'],
        rules: [{ policy: 'default/allow-frontend', direction: 'ingress', rule: 0, peer: 0, port: 0 }],
      },
    });
    expect(Object.keys(parsed)).toEqual(['results']);
  });

  it('names external hosts by IP and needs explicit probes for them', () => {
    const withExternal = simulate(snapshot, { probes: [{ port: 443, protocol: 'TCP' }], externalIPs: ['203.0.113.10'] });
    const external = withExternal.filter((r) => r.to === '203.0.113.10');
    expect(external).toHaveLength(3);
    expect(external.every((r) => r.allowed && r.ingress.reason === 'not-a-pod')).toBe(true);
  });

  it('renders one matrix per probe with a legend and marks', () => {
    const table = renderTable(results);
    expect(table).toContain('Probe 80/TCP');
    expect(table).toContain('Probe 5432/TCP');
    const probe80 = table.split('Probe 80/TCP')[1]!.split('Probe')[0]!;
    // Columns: 1 backend, 2 database. frontend -> backend allowed, database not probed on 80.
    expect(probe80).toMatch(/default\/frontend\s+\.\s+-/);
    expect(probe80).toMatch(/default\/database\s+X\s+-/);
    expect(table).toContain('6 connections: 3 allowed, 3 denied');
  });
});

describe('explain', () => {
  it('names the admitting policy and rule', () => {
    const text = explainConnection(snapshot, connection(at(frontend), at(backend), 80));
    expect(text).toContain('ALLOWED');
    expect(text).toContain('admitted by NetworkPolicy default/allow-frontend spec.ingress[0]: from[0] pods app=frontend in namespace default, ports[0] TCP/http');
  });

  it('says why nothing admitted a denied connection, with the closest rule', () => {
    const text = explainConnection(snapshot, connection(at(database), at(backend), 80));
    expect(text).toContain('DENIED');
    expect(text).toContain('Ingress to default/backend: DENIED: isolated by default/allow-frontend');
    expect(text).toContain("from[0] pods app=frontend in namespace default: no match: the pod's labels do not match the podSelector");
    expect(text).toContain('ports TCP/80: match');
  });

  it('recognises a default deny', () => {
    const text = explainConnection(snapshot, connection(at(frontend), at(database), 5432));
    expect(text).toContain('no ingress rules in default/deny-db: a default deny for this direction');
  });

  it('explains egress to an external host', () => {
    const text = explainConnection(snapshot, connection(at(frontend), external('203.0.113.10'), 443));
    expect(text).toContain('Ingress to 203.0.113.10: allowed: an external host');
  });

  it('summarises a pod: isolation, rules, who may reach it', () => {
    const text = explainPod(snapshot, backend);
    expect(text).toContain('Ingress: isolated by default/allow-frontend');
    expect(text).toContain('default/allow-frontend spec.ingress[0]: pods app=frontend in namespace default; TCP/http');
    expect(text).toContain('may be reached by: default/frontend 80/TCP');
    expect(text).toContain('denied: default/database 80/TCP');
    expect(text).toContain('Egress: not isolated');
  });
});
