// The agent endpoint's routes against a stub agent: parameters, errors, and the node's view added to explanations.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { podChainName } from '../../src/compile/index.js';
import { connectionExplanation, podExplanation } from '../../src/explain/index.js';
import type { ChainReading } from '../../src/agent/http/kernel-rules.js';
import { EXPLAIN_DISABLED, type RouteContext, answer } from '../../src/agent/http/routes.js';
import type { ServedAgent, ServedDropCount } from '../../src/agent/http/served-agent.js';
import { at, connection, containerPort, pod, podPeer, policy, port, rule, selector, snapshotOf } from '../support/builders.js';

const NODE = 'node-a';
const frontend = pod('default/frontend', { labels: { app: 'frontend' }, ips: ['10.244.0.10'], nodeName: 'node-b' });
const backend = pod('default/backend', { labels: { app: 'backend' }, ips: ['10.244.0.11'], ports: [containerPort(80, 'http')], nodeName: NODE });
const database = pod('default/database', { labels: { app: 'database' }, ips: ['10.244.0.12'], ports: [containerPort(5432)], nodeName: NODE });
const allowFrontend = policy('default/allow-frontend', {
  podSelector: selector({ app: 'backend' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'frontend' }) })], [port('http')])],
});
const snapshot = snapshotOf({ pods: [frontend, backend, database], policies: [allowFrontend] });
const backendIngressRules = ['ip saddr @peer4_x tcp dport 80 accept comment "NetworkPolicy default/allow-frontend spec.ingress[0]"', 'counter name "drop_in_default_backend" drop'];

interface StubOptions {
  readonly ready?: boolean;
  readonly applied?: boolean;
  readonly explain?: boolean;
  readonly chains?: Readonly<Record<string, ChainReading>>;
  readonly drops?: readonly ServedDropCount[];
}

function stub(options: StubOptions = {}): RouteContext & { chainsRead: string[]; dropReads: number } {
  const registry = new Registry();
  new Counter({ name: 'bulkhead_test_total', help: 'a metric of the stub', registers: [registry] }).inc(3);
  let dropReads = 0;
  const chainsRead: string[] = [];
  const agent: ServedAgent = {
    registry,
    status: () => (options.ready ?? true ? { ready: true } : { ready: false, readyReason: 'waiting for the initial list of pods' }),
    view: () => (options.applied ?? true ? { snapshot, plan: { tables: [], counters: {} } } : undefined),
    dropCounts: async () => {
      dropReads++;
      return options.drops ?? [];
    },
  };
  return {
    agent,
    nodeName: NODE,
    explain: options.explain ?? true,
    readChain: async (chain) => {
      chainsRead.push(chain);
      return options.chains?.[chain] ?? { kind: 'absent' };
    },
    chainsRead,
    get dropReads() {
      return dropReads;
    },
  };
}

const get = (context: RouteContext, url: string) => answer('GET', url, context);
const body = (reply: { body: string }) => JSON.parse(reply.body) as Record<string, unknown>;

describe('health and readiness', () => {
  it('is healthy while it answers, ready only once the agent is', async () => {
    expect(await get(stub({ ready: false }), '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(stub(), '/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get(stub({ ready: false }), '/readyz')).toMatchObject({ status: 503, body: 'not ready: waiting for the initial list of pods\n' });
  });

  it('serves the registry in the Prometheus text format', async () => {
    const reply = await get(stub(), '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(reply.body).toContain('bulkhead_test_total 3');
  });

  it('answers unknown paths and other methods with JSON errors', async () => {
    expect(await get(stub(), '/nope')).toMatchObject({ status: 404 });
    expect(body(await get(stub(), '/nope')).error).toBe('no endpoint /nope: expected /healthz, /readyz, /metrics or /explain');
    const post = await answer('POST', '/explain?pod=default/backend', stub());
    expect(post).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
  });
});

describe('/explain', () => {
  it('explains a local pod with its chains as the kernel holds them and its drops', async () => {
    const context = stub({
      chains: { [podChainName(backend, 'ingress')]: { kind: 'present', rules: backendIngressRules } },
      drops: [
        { namespace: 'default', pod: 'backend', direction: 'ingress', packets: 4, bytes: 240 },
        { namespace: 'default', pod: 'database', direction: 'ingress', packets: 9, bytes: 540 },
      ],
    });
    const reply = await get(context, '/explain?pod=default/backend');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe('application/json; charset=utf-8');
    expect(body(reply)).toEqual({
      // Reachability (a verdict per pod of the cluster) stays out of the agent's answer.
      ...JSON.parse(JSON.stringify(podExplanation(snapshot, backend, { reachability: false }))),
      node: {
        name: NODE,
        rulesInKernel: { ingress: true, egress: false },
        kernelRules: { ingress: backendIngressRules, egress: [] },
        drops: { ingress: { packets: 4, bytes: 240 }, egress: { packets: 0, bytes: 0 } },
      },
    });
    expect(context.chainsRead.sort()).toEqual(['pod_in_default_backend', 'pod_out_default_backend']);
  });

  it('gives a pod of another node only the node name, without reading the kernel', async () => {
    const context = stub();
    const reply = await get(context, '/explain?pod=default/frontend');
    expect(body(reply).node).toEqual({ name: NODE });
    expect([context.chainsRead, context.dropReads]).toEqual([[], 0]);
  });

  it('explains a connection with the node view of each local end only', async () => {
    const context = stub({ drops: [{ namespace: 'default', pod: 'database', direction: 'ingress', packets: 2, bytes: 120 }] });
    const reply = await get(context, '/explain?from=default/frontend&to=10.244.0.12&port=5432&protocol=tcp');
    expect(reply.status).toBe(200);
    const expected = JSON.parse(JSON.stringify(connectionExplanation(snapshot, connection(at(frontend), at(database), 5432))));
    const { node, ...explanation } = body(reply);
    expect(explanation).toEqual(expected);
    expect(node).toEqual({
      name: NODE,
      to: {
        rulesInKernel: { ingress: false, egress: false },
        kernelRules: { ingress: [], egress: [] },
        drops: { ingress: { packets: 2, bytes: 120 }, egress: { packets: 0, bytes: 0 } },
      },
    });
    expect(context.dropReads).toBe(1);
  });

  it('takes a named port of the destination', async () => {
    const reply = await get(stub(), '/explain?from=default/frontend&to=default/backend&port=http');
    expect(body(reply)).toMatchObject({ port: 80, portName: 'http', protocol: 'TCP', allowed: true });
  });

  it.each([
    ['/explain', 400, 'expected pod=NAMESPACE/NAME, or from=NAMESPACE/POD|IP&to=NAMESPACE/POD|IP&port=PORT[&protocol=TCP|UDP|SCTP]'],
    ['/explain?pod=default/backend&port=80', 400, 'pod= explains a pod and takes no other parameter'],
    ['/explain?from=default/frontend&to=default/backend', 400, 'missing port'],
    ['/explain?from=default/frontend&port=80', 400, 'missing to'],
    ['/explain?from=a&from=b&to=c&port=80', 400, 'parameter from given twice'],
    ['/explain?pod=default/backend&verbose=1', 400, 'unknown parameter verbose'],
    ['/explain?from=default/frontend&to=default/backend&port=0', 400, "invalid port '0'"],
    ['/explain?from=default/frontend&to=default/backend&port=80&protocol=icmp', 400, "invalid protocol in 'icmp'"],
    ['/explain?from=default/frontend&to=default/backend&port=grpc', 400, "default/backend declares no TCP port named 'grpc'"],
    ['/explain?pod=default/nobody', 404, 'no pod default/nobody known to this agent'],
    ['/explain?from=prod/api-0&to=default/backend&port=80', 404, 'no pod prod/api-0 known to this agent'],
  ])('%s -> %i', async (url, status, message) => {
    const reply = await get(stub(), url);
    expect(reply.status).toBe(status);
    expect(String(body(reply).error)).toContain(message);
  });

  it('is 503 before the first state is applied, and 404 when turned off', async () => {
    const early = await get(stub({ ready: false, applied: false }), '/explain?pod=default/backend');
    expect([early.status, body(early)]).toEqual([503, { error: 'not ready: waiting for the initial list of pods' }]);
    const off = await get(stub({ explain: false }), '/explain?pod=default/backend');
    expect([off.status, body(off)]).toEqual([404, { error: EXPLAIN_DISABLED }]);
    expect(EXPLAIN_DISABLED).toBe('the explain endpoint is disabled (--no-explain-endpoint)');
  });

  it('fails (500) rather than report chains missing when the kernel cannot be read', async () => {
    const context = stub({ chains: { [podChainName(backend, 'egress')]: { kind: 'error', message: 'cannot list chain inet bulkhead pod_out_default_backend: Operation not permitted' } } });
    const reply = await get(context, '/explain?pod=default/backend');
    expect([reply.status, body(reply).error]).toEqual([500, 'cannot list chain inet bulkhead pod_out_default_backend: Operation not permitted']);
  });
});
