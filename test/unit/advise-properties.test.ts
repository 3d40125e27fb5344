// The advisor judged by the real semantics on random clusters and flows: with the proposal applied, every observed
// flow is allowed, and on the advised namespace's side the policies allow exactly what the proposal states (its
// grants: "pods of workload W and peer P on these ports"), on top of what no policy can deny (a pod to itself,
// a pod and its own node). Nothing on the other namespaces' side changes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FlowRecord, type Grant, flowConnection, observedFlows, propose, withProposal } from '../../src/advise/index.js';
import { type Direction, DIRECTIONS, type NetworkPolicy, type Protocol, PROTOCOLS, podKey } from '../../src/model/types.js';
import { type Connection, type Endpoint, connectionVerdict, directionVerdict } from '../../src/policy/index.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { type RandomCluster, clusterArbitrary, connectionArbitrary, endpointsOf, PROBE_PORTS } from '../support/arbitraries.js';

const NS = 'ns0';

function recordOf(connection: Connection, n: number): FlowRecord {
  const name = (end: Endpoint) => (end.kind === 'pod' ? podKey(end.pod) : end.ip);
  return {
    time: new Date(Date.UTC(2026, 10, 23, 21, 0, n)).toISOString(),
    node: 'node-0',
    direction: n % 2 === 0 ? 'egress' : 'ingress',
    from: name(connection.from),
    to: name(connection.to),
    port: connection.port,
    protocol: connection.protocol,
    verdict: 'allowed',
    policies: [],
  };
}

/** A cluster and connections in it, recorded as the verdict stream would name them. */
const scenario = clusterArbitrary({ maxPods: 7, maxPolicies: 4, maxNamespaces: 3 }).chain((cluster) =>
  fc.record({
    cluster: fc.constant(cluster),
    connections: fc.array(connectionArbitrary(cluster), { minLength: 1, maxLength: 14 }),
  }),
);

/** The flows of NS seen in `snapshot`, keeping those the snapshot allows (only allowed traffic is observed). */
function observedIn(snapshot: Snapshot, connections: readonly Connection[]) {
  const records = connections.map(recordOf);
  return observedFlows(snapshot, records, { namespace: NS }).flows.filter((flow) => {
    const connection = flowConnection(snapshot, flow);
    return connection !== undefined && connectionVerdict(snapshot, connection).allowed;
  });
}

function snapshotOf(cluster: RandomCluster, keep: (policy: NetworkPolicy) => boolean): Snapshot {
  return buildSnapshot({ ...cluster, policies: cluster.policies.filter(keep) });
}

describe('advise: properties on random clusters', () => {
  it('allows every observed flow beside the cluster\'s existing policies, its own namespace\'s included', () => {
    fc.assert(
      fc.property(scenario, ({ cluster, connections }) => {
        const snapshot = snapshotOf(cluster, () => true);
        const flows = observedIn(snapshot, connections);
        const applied = withProposal(snapshot, propose(NS, flows));
        for (const flow of flows) {
          const connection = flowConnection(applied, flow)!;
          expect(connectionVerdict(applied, connection).allowed, `${flow.from.kind} -> ${flow.to.kind} ${flow.port}/${flow.protocol}`).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('allows on the namespace\'s side exactly the closure its grants state, and changes nothing elsewhere', () => {
    fc.assert(
      fc.property(scenario, ({ cluster, connections }) => {
        // The namespace as the advisor usually finds it: no policy of its own yet.
        const before = snapshotOf(cluster, (p) => p.namespace !== NS);
        const flows = observedIn(before, connections);
        const proposal = propose(NS, flows);
        const after = withProposal(before, proposal);
        const denyOnly = withProposal(before, { ...proposal, policies: proposal.policies.filter((p) => p.purpose === 'default-deny') });
        expect(proposal.policies[0]?.purpose).toBe('default-deny');

        const endpoints = [...endpointsOf(cluster), ...flows.flatMap((f) => [f.from, f.to]).flatMap((end): Endpoint[] => (end.kind === 'ip' ? [{ kind: 'external', ip: end.ip }] : []))];
        const ports = [...new Set([...PROBE_PORTS, ...flows.map((f) => f.port)])];
        for (const from of endpoints) {
          for (const to of endpoints) {
            if (from.ip.includes(':') !== to.ip.includes(':')) continue;
            for (const port of ports) {
              for (const protocol of PROTOCOLS) {
                const connection: Connection = { from, to, port, protocol };
                for (const direction of DIRECTIONS) {
                  const actual = directionVerdict(after, connection, direction).allowed;
                  const expected = isAdvisedSide(connection, direction)
                    ? directionVerdict(denyOnly, connection, direction).allowed || closureAdmits(proposal.grants, connection, direction)
                    : directionVerdict(before, connection, direction).allowed;
                  if (actual !== expected) {
                    expect.fail(`${connectionName(connection)} ${direction}: proposal ${actual ? 'allows' : 'denies'}, closure says ${expected ? 'allowed' : 'denied'}`);
                  }
                }
              }
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('states no grant without an observed flow that needs it, and each such flow falls inside its grant', () => {
    fc.assert(
      fc.property(scenario, ({ cluster, connections }) => {
        const snapshot = snapshotOf(cluster, (p) => p.namespace !== NS);
        const flows = observedIn(snapshot, connections);
        const proposal = propose(NS, flows);
        for (const grant of proposal.grants) {
          expect(grant.flows.length).toBeGreaterThan(0);
          for (const flow of grant.flows) {
            expect(closureAdmits([grant], flowConnection(snapshot, flow)!, grant.direction)).toBe(true);
          }
        }
        // Every rule of every policy names the flows it covers.
        for (const proposed of proposal.policies) {
          for (const rule of proposed.rules) expect(rule.flows.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** The side of a connection the proposal decides: egress of a selectable pod of NS, ingress of one. */
function isAdvisedSide(connection: Connection, direction: Direction): boolean {
  const subject = direction === 'egress' ? connection.from : connection.to;
  return subject.kind === 'pod' && !subject.pod.hostNetwork && subject.pod.namespace === NS;
}

/** The closure the grants state, computed from the grants alone (an oracle written apart from src/policy). */
function closureAdmits(grants: readonly Grant[], connection: Connection, direction: Direction): boolean {
  const subject = direction === 'egress' ? connection.from : connection.to;
  const peer = direction === 'egress' ? connection.to : connection.from;
  return grants.some(
    (grant) =>
      grant.direction === direction &&
      subject.kind === 'pod' &&
      !subject.pod.hostNetwork &&
      subject.pod.namespace === NS &&
      hasLabels(subject.pod.labels, grant.subject.selector.matchLabels) &&
      (grant.peer.kind === 'ip'
        ? peer.ip === grant.peer.ip
        : peer.kind === 'pod' && !peer.pod.hostNetwork && peer.pod.namespace === grant.peer.namespace && hasLabels(peer.pod.labels, grant.peer.selector.matchLabels)) &&
      grant.ports.some((port) => portAdmits(port.port, port.protocol, connection)),
  );
}

function portAdmits(port: number | string | undefined, protocol: Protocol, connection: Connection): boolean {
  if (protocol !== connection.protocol) return false;
  if (typeof port === 'number') return port === connection.port;
  const destination = connection.to.kind === 'pod' ? connection.to.pod : undefined;
  return destination?.ports.some((p) => p.name === port && p.protocol === protocol && p.containerPort === connection.port) ?? false;
}

function hasLabels(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => Object.prototype.hasOwnProperty.call(labels, key) && labels[key] === value);
}

function connectionName(connection: Connection): string {
  const name = (end: Endpoint) => (end.kind === 'pod' ? `${podKey(end.pod)}(${end.ip})` : end.ip);
  return `${name(connection.from)} -> ${name(connection.to)} ${connection.port}/${connection.protocol}`;
}
