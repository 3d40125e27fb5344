// The explanation objects shared by `explain -o json`, the text rendering and the agent's /explain.
import { describe, expect, it } from 'vitest';
import { explainCommandOutput, renderConnectionExplanation, renderPodExplanation } from '../../src/cli/explain.js';
import {
  type ConnectionExplanation,
  type QueryContext,
  connectionExplanation,
  explainConnectionQuery,
  explainPodQuery,
  podExplanation,
} from '../../src/explain/index.js';
import {
  at,
  connection,
  containerPort,
  external,
  ipBlockPeer,
  pod,
  podPeer,
  policy,
  port,
  rule,
  selector,
  snapshotOf,
} from '../support/builders.js';

const frontend = pod('default/frontend', { labels: { app: 'frontend' }, ips: ['10.244.0.10'], nodeName: 'node-a' });
const backend = pod('default/backend', {
  labels: { app: 'backend' },
  ips: ['10.244.0.11', 'fd00:10:244::11'],
  ports: [containerPort(80, 'http'), containerPort(53, 'dns', 'UDP')],
  nodeName: 'node-b',
});
const database = pod('default/database', { labels: { app: 'database' }, ips: ['10.244.0.12'], ports: [containerPort(5432)] });
const v6only = pod('default/v6only', { ips: ['fd00:10:244::20'] });
const allowFrontend = policy('default/allow-frontend', {
  podSelector: selector({ app: 'backend' }),
  ingress: [rule([podPeer({ podSelector: selector({ app: 'frontend' }) })], [port('http')]), rule([ipBlockPeer('192.0.2.0/24')], [port(443)])],
});
const denyDb = policy('default/deny-db', { podSelector: selector({ app: 'database' }) });
const broken = policy('default/broken', {
  podSelector: selector({ app: 'database' }),
  ingress: [rule()],
  errors: [{ object: 'NetworkPolicy default/broken', field: 'spec.ingress[0].from[0].ipBlock.cidr', message: 'not a CIDR' }],
});
const snapshot = snapshotOf({ pods: [frontend, backend, database, v6only], policies: [allowFrontend, denyDb, broken] });
const context: QueryContext = { defaultNamespace: 'default', where: 'in the given manifests' };

/** JSON and back: what a client of /explain holds. */
const overTheWire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('connection explanation', () => {
  it('carries the verdict with the admitting rule and the peer and port entries that matched', () => {
    const explanation = connectionExplanation(snapshot, connection(at(frontend), at(backend), 80));
    expect(explanation).toEqual({
      kind: 'connection',
      from: { kind: 'pod', name: 'default/frontend', ip: '10.244.0.10', nodeName: 'node-a', hostNetwork: false },
      to: { kind: 'pod', name: 'default/backend', ip: '10.244.0.11', nodeName: 'node-b', hostNetwork: false },
      port: 80,
      protocol: 'TCP',
      allowed: true,
      egress: { subject: 'default/frontend', allowed: true, reason: 'not-isolated' },
      ingress: {
        subject: 'default/backend',
        allowed: true,
        reason: 'rule',
        isolatedBy: ['default/allow-frontend'],
        rules: [
          {
            policy: 'default/allow-frontend',
            direction: 'ingress',
            rule: 0,
            peer: 0,
            port: 0,
            matchedPeer: { kind: 'pods', podSelector: selector({ app: 'frontend' }) },
            matchedPort: { protocol: 'TCP', port: 'http' },
          },
        ],
      },
    });
  });

  it('for a denial names the isolating policies, the closest rules and what of them did not match', () => {
    const explanation = connectionExplanation(snapshot, connection(at(database), at(backend), 80));
    expect(explanation.allowed).toBe(false);
    expect(explanation.ingress).toEqual({
      subject: 'default/backend',
      allowed: false,
      reason: 'isolated',
      isolatedBy: ['default/allow-frontend'],
      invalidPolicies: [],
      closestRules: [
        {
          policy: 'default/allow-frontend',
          rule: 0,
          peers: [{ peer: { kind: 'pods', podSelector: selector({ app: 'frontend' }) }, mismatch: { kind: 'pod-labels' } }],
          peersMatch: false,
          ports: [{ kind: 'range', range: { protocol: 'TCP', first: 80, last: 80 } }],
          portsMatch: true,
        },
      ],
    });
  });

  it('lists invalid isolating policies, whose surviving rules admit nothing', () => {
    const explanation = connectionExplanation(snapshot, connection(at(frontend), at(database), 5432));
    expect(explanation.ingress).toMatchObject({
      reason: 'isolated',
      isolatedBy: ['default/deny-db', 'default/broken'],
      invalidPolicies: [{ policy: 'default/broken', errors: [{ field: 'spec.ingress[0].from[0].ipBlock.cidr', message: 'not a CIDR' }] }],
    });
    // The invalid policy's surviving rule would admit everything, yet it admits nothing: it is still the closest.
    expect(explanation.ingress.reason === 'isolated' && explanation.ingress.closestRules.map((r) => r.policy)).toEqual(['default/broken']);
  });

  it('has no closest rule for a default deny', () => {
    const denyOnly = snapshotOf({ pods: [frontend, database], policies: [denyDb] });
    const explanation = connectionExplanation(denyOnly, connection(at(frontend), at(database), 5432));
    expect(explanation.ingress).toEqual({
      subject: 'default/database',
      allowed: false,
      reason: 'isolated',
      isolatedBy: ['default/deny-db'],
      invalidPolicies: [],
      closestRules: [],
    });
  });

  it('names external hosts by their address', () => {
    const explanation = connectionExplanation(snapshot, connection(at(frontend), external('203.0.113.10'), 443));
    expect(explanation.to).toEqual({ kind: 'external', name: '203.0.113.10', ip: '203.0.113.10' });
    expect(explanation.ingress).toEqual({ subject: '203.0.113.10', allowed: true, reason: 'not-a-pod', endpoint: 'external' });
  });

  it('renders the same words from its JSON as from the object', () => {
    for (const conn of [
      connection(at(frontend), at(backend), 80),
      connection(at(database), at(backend), 80),
      connection(at(frontend), at(database), 5432),
      connection(at(frontend), external('203.0.113.10'), 443),
    ]) {
      const explanation = connectionExplanation(snapshot, conn);
      expect(overTheWire(explanation)).toEqual(explanation);
      expect(renderConnectionExplanation(overTheWire(explanation))).toBe(renderConnectionExplanation(explanation));
    }
  });
});

describe('pod explanation', () => {
  it('carries addresses, node, isolation per direction with each policy rule, and reachability', () => {
    const explanation = podExplanation(snapshot, backend);
    expect(explanation).toMatchObject({
      kind: 'pod',
      pod: 'default/backend',
      nodeName: 'node-b',
      hostNetwork: false,
      ips: ['10.244.0.11', 'fd00:10:244::11'],
      labels: { app: 'backend' },
      ingress: {
        isolated: true,
        policies: [
          {
            policy: 'default/allow-frontend',
            errors: [],
            rules: [
              { peers: [{ kind: 'pods', podSelector: selector({ app: 'frontend' }) }], ports: [{ protocol: 'TCP', port: 'http' }] },
              { peers: [{ kind: 'ipBlock', ipBlock: { cidr: '192.0.2.0/24', except: [] } }], ports: [{ protocol: 'TCP', port: 443 }] },
            ],
          },
        ],
      },
      egress: { isolated: false, policies: [] },
    });
    expect(explanation.ingress.reachability).toEqual({
      allowed: [{ pod: 'default/frontend', ports: [{ port: 80, protocol: 'TCP' }] }],
      denied: [
        { pod: 'default/database', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
        { pod: 'default/frontend', ports: [{ port: 53, protocol: 'UDP' }] },
        { pod: 'default/v6only', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
      ],
    });
  });

  it('leaves reachability out when asked, and its words with it', () => {
    const explanation = podExplanation(snapshot, backend, { reachability: false });
    expect(Object.keys(explanation.ingress)).toEqual(['isolated', 'policies']);
    const text = renderPodExplanation(explanation);
    expect(text).not.toMatch(/may be reached by|may reach|denied:/);
    expect(text).toBe(
      renderPodExplanation(podExplanation(snapshot, backend))
        .split('\n')
        .filter((line) => !/^ {2}(may be reached by|may reach|denied):/.test(line))
        .join('\n'),
    );
  });

  it('renders the same words from its JSON as from the object', () => {
    for (const p of [frontend, backend, database, v6only]) {
      const explanation = podExplanation(snapshot, p);
      expect(overTheWire(explanation)).toEqual(explanation);
      expect(renderPodExplanation(overTheWire(explanation))).toBe(renderPodExplanation(explanation));
    }
  });
});

describe('explain queries', () => {
  const ask = (from: string, to: string, portText: string, protocol?: string) =>
    explainConnectionQuery(snapshot, { from, to, port: portText, ...(protocol === undefined ? {} : { protocol }) }, context);

  it('resolves pods by name, bare name or IP, and the port by number or by the destination\'s name for it', () => {
    const byName = ask('default/frontend', 'backend', 'http');
    expect(byName.ok && byName.value).toMatchObject({ port: 80, portName: 'http', protocol: 'TCP', allowed: true });
    const byIP = ask('10.244.0.10', '10.244.0.11', '80');
    expect(byIP.ok && [byIP.value.from.name, byIP.value.to.name, byIP.value.port]).toEqual(['default/frontend', 'default/backend', 80]);
    const udp = ask('default/frontend', 'default/backend', 'dns/udp');
    expect(udp.ok && [udp.value.port, udp.value.protocol, udp.value.portName]).toEqual([53, 'UDP', 'dns']);
    const udpParam = ask('default/frontend', 'default/backend', '53', 'udp');
    expect(udpParam.ok && [udpParam.value.port, udpParam.value.protocol]).toEqual([53, 'UDP']);
  });

  it('picks the address family the other side fixes', () => {
    const v6 = ask('fd00:10:244:0::20', 'default/backend', '80');
    expect(v6.ok && [v6.value.from.name, v6.value.to.ip]).toEqual(['default/v6only', 'fd00:10:244::11']);
  });

  it.each([
    ['default/frontend', 'default/backend', '99999/TCP', undefined, "invalid port '99999/TCP'"],
    ['default/frontend', 'default/backend', 'Http', undefined, "invalid port 'Http'"],
    ['default/frontend', 'default/backend', '80', 'ICMP', "invalid protocol in 'ICMP'"],
    ['default/frontend', 'default/backend', '80/UDP', 'TCP', "port '80/UDP' names protocol UDP but protocol is TCP"],
    ['default/frontend', 'default/backend', 'web', undefined, "default/backend declares no TCP port named 'web'"],
    ['default/frontend', '203.0.113.10', 'http', undefined, "203.0.113.10 declares no TCP port named 'http'"],
    ['default/frontend', 'default/v6only', '80', undefined, 'default/frontend and default/v6only have no IP family in common'],
    ['a/b/c', 'default/backend', '80', undefined, "invalid pod 'a/b/c'"],
  ])('rejects %s -> %s %s (%s) as invalid', (from, to, portText, protocol, message) => {
    const result = ask(from, to, portText, protocol);
    expect(result.ok ? undefined : result.error).toEqual({ kind: 'invalid', message: expect.stringContaining(message) as string });
  });

  it('tells an unknown pod apart from a bad request', () => {
    const result = ask('default/nobody', 'default/backend', '80');
    expect(result.ok ? undefined : result.error).toEqual({
      kind: 'not-found',
      message: 'no pod default/nobody in the given manifests (expected NAMESPACE/NAME or an IP)',
    });
    const pod = explainPodQuery(snapshot, 'prod/api-0', { defaultNamespace: 'default', where: 'known to this agent' });
    expect(pod.ok ? undefined : pod.error).toEqual({ kind: 'not-found', message: 'no pod prod/api-0 known to this agent (expected NAMESPACE/NAME or an IP)' });
  });

  it('explains a pod named with or without its namespace', () => {
    const named = explainPodQuery(snapshot, 'database', context);
    expect(named.ok && named.value.pod).toBe('default/database');
  });

  it('gives the CLI and the endpoint the same object', () => {
    const query = ask('default/database', 'default/backend', '80/TCP');
    const direct: ConnectionExplanation = connectionExplanation(snapshot, connection(at(database), at(backend), 80));
    expect(query.ok && query.value).toEqual(direct);
  });
});

describe('bulkhead explain output', () => {
  const json = { ...context, output: 'json' as const };
  const text = { ...context, output: 'text' as const };

  it('prints the explanation object with -o json, for a connection and for a pod, and the same in words', () => {
    const conn = connectionExplanation(snapshot, connection(at(database), at(backend), 80));
    expect(JSON.parse(explainCommandOutput(snapshot, ['default/database', 'default/backend', '80/TCP'], json))).toEqual(overTheWire(conn));
    expect(explainCommandOutput(snapshot, ['default/database', 'default/backend', '80/TCP'], text)).toBe(renderConnectionExplanation(conn));
    const pod = podExplanation(snapshot, backend);
    expect(JSON.parse(explainCommandOutput(snapshot, ['pod', 'default/backend'], json))).toEqual(overTheWire(pod));
    expect(explainCommandOutput(snapshot, ['pod', 'backend'], text)).toBe(renderPodExplanation(pod));
  });

  it('turns a bad request into a usage error naming it', () => {
    expect(() => explainCommandOutput(snapshot, ['pod'], text)).toThrow('usage: bulkhead explain -f PATH pod NAMESPACE/NAME');
    expect(() => explainCommandOutput(snapshot, ['default/database', 'default/backend'], text)).toThrow('usage: bulkhead explain -f PATH FROM TO PORT/PROTO');
    expect(() => explainCommandOutput(snapshot, ['default/nobody', 'default/backend', '80'], text)).toThrow('no pod default/nobody in the given manifests');
  });
});
