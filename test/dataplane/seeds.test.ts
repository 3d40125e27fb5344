// The demos of the seed articles (shared/seeds), as examples/ tells them, enforced by real agents on the netns
// lab and probed with real packets: every step of examples/three-tier and examples/production-lockdown, the
// seed's deny-all-egress, node-local traffic from hostNetwork, all in IPv4 and IPv6, with the pods on one node
// and spread over both (VXLAN between them).
//
// Each probe is checked against two things that must agree: the hand-written grid, and the verdict of src/policy
// for the very snapshot the agents load. Each step's grid is the example's own expected.txt (as
// test/unit/seeds.test.ts checks it too, see test/support/example-grids.ts); the probes only this lab can send, to
// the outside host and to the backend's SCTP server, are written here. Allowed means the kernel connects; denied means it drops
// (the probe times out), never that something answers "refused".
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, loadManifests, type Namespace, type Pod } from '../../src/model/index.js';
import { exampleGrid } from '../support/example-grids.js';
import { type Grid, parseGrid, selectColumns } from '../support/grid.js';
import { disagreements, type GridColumn, type GridLayout, gridProbes, type ExpectedProbe } from './grid.js';
import { type Cluster, type PodDeclaration, type Scenario, type Served, startCluster } from './harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const THREE_TIER = join(REPO, 'examples', 'three-tier');
const LOCKDOWN = join(REPO, 'examples', 'production-lockdown');
const SEED_FIXTURES = join(REPO, 'test', 'fixtures', 'seeds');

let cluster: Cluster;
let probeCount = 0;

beforeAll(async () => {
  cluster = await startCluster({ probeConcurrency: 256, probeTimeoutMs: 600 });
});

afterAll(async () => {
  await cluster?.stop();
  // How much real traffic this file sent, for the record of a run.
  process.stdout.write(`dataplane seeds: ${probeCount} probes\n`);
});

// ------------------------------------------------------------------------------------------------ placement

/**
 * Where the pods of an example run, by their index in pods.yaml order (namespace/name). One layout puts all on
 * node1; in the three others, pod i runs on node 1 + bit k of i: any two pods differ in some bit, so every
 * ordered pair crosses the VXLAN in at least one layout, and shares a bridge in the first.
 */
const LAYOUTS = [
  { name: 'all pods on node1', node: () => 'node1' },
  ...[0, 1, 2].map((bit) => ({ name: `pods split over node1 and node2 by bit ${bit} of their index`, node: (i: number) => `node${1 + ((i >> bit) & 1)}` })),
];

interface Example {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
}

async function loadExample(directory: string): Promise<Example> {
  const loaded = await loadManifests([join(directory, 'pods.yaml')], { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS });
  expect(loaded.errors).toEqual([]);
  return { namespaces: loaded.namespaces.filter((ns) => !ns.implicit), pods: loaded.pods };
}

/** The example's pods on the layout's nodes, with a hostNetwork pod on each node standing for the node itself. */
function scenario(example: Example, placement: (index: number) => string, policies: readonly string[], extra: ExtraServers = {}): Scenario {
  const pods: PodDeclaration[] = example.pods.map((pod, i) => ({
    namespace: pod.namespace,
    name: pod.name,
    node: placement(i),
    labels: pod.labels,
    ports: pod.ports,
    serve: extra.pods?.[`${pod.namespace}/${pod.name}`] ?? [],
  }));
  const nodes = cluster.lab.nodes.map((node): PodDeclaration => ({ namespace: 'kube-system', name: `node-exporter-${node.name}`, node: node.name, hostNetwork: true }));
  return {
    namespaces: example.namespaces.map((ns) => ({ name: ns.name, labels: ns.labels })),
    pods: [...pods, ...nodes],
    policies,
    outside: extra.outside ?? [],
  };
}

interface ExtraServers {
  readonly pods?: Readonly<Record<string, readonly Served[]>>;
  readonly outside?: readonly Served[];
}

function stepTexts(directory: string, steps: readonly string[]): string[] {
  return steps.flatMap((step) => {
    const dir = join(directory, 'steps', step);
    return readdirSync(dir)
      .filter((file) => file.endsWith('.yaml'))
      .sort()
      .map((file) => readFileSync(join(dir, file), 'utf8'));
  });
}

/** Probes every expectation in both families where it applies; returns the disagreements. */
async function check(expected: readonly ExpectedProbe[]): Promise<string[]> {
  const results = await cluster.probe(expected.map((e) => e.probe));
  probeCount += results.length;
  return disagreements(expected, results);
}

function bothFamilies(layout: GridLayout, grid: Grid): ExpectedProbe[] {
  return [...gridProbes(layout, grid, 4), ...gridProbes(layout, grid, 6)];
}

const tcp = (to: string, port: number): GridColumn => ({ to, port, protocol: 'TCP' });
const udp = (to: string, port: number): GridColumn => ({ to, port, protocol: 'UDP' });
const sctp = (to: string, port: number): GridColumn => ({ to, port, protocol: 'SCTP' });

// ------------------------------------------------------------------------------------------------ three-tier

const TIER_ROWS = {
  backend: 'default/backend',
  database: 'default/database',
  frontend: 'default/frontend',
  coredns: 'kube-system/coredns',
  prometheus: 'monitoring/prometheus',
  lookalike: 'other/lookalike',
};

/** Every pod on the ports it declares, as `bulkhead simulate` probes by default. */
const TIER: GridLayout = {
  rows: TIER_ROWS,
  columns: {
    'be:80': tcp('default/backend', 80),
    'be:8080': tcp('default/backend', 8080),
    'db:3306': tcp('default/database', 3306),
    'db:5432': tcp('default/database', 5432),
    'fe:80': tcp('default/frontend', 80),
    'dns:tcp': tcp('kube-system/coredns', 53),
    'dns:udp': udp('kube-system/coredns', 53),
    'prom:9090': tcp('monitoring/prometheus', 9090),
    'look:80': tcp('other/lookalike', 80),
  },
};

/**
 * Step 11's probes: the backend declares no SCTP port, but serves SCTP and TCP on 3868. The other pods serve
 * nothing there, so of the step's expected-probes.txt only the backend's columns can be probed.
 */
const TIER_DIAMETER: GridLayout = {
  rows: TIER_ROWS,
  columns: { 'be:sctp': sctp('default/backend', 3868), 'be:tcp': tcp('default/backend', 3868) },
};

/** Step 5's probes to the outside host, whose addresses differ by family. */
function tierOutside(family: 4 | 6): GridLayout {
  const [allowed, excepted, elsewhere] = family === 4 ? ['203.0.113.10', '203.0.113.20', '198.51.100.10'] : ['2001:db8::10', '2001:db8::20', '2001:db8::10'];
  return {
    rows: TIER_ROWS,
    columns: {
      'in:443': { to: { ip: allowed! }, port: 443, protocol: 'TCP' },
      'in:53udp': { to: { ip: allowed! }, port: 53, protocol: 'UDP' },
      'except:443': { to: { ip: excepted! }, port: 443, protocol: 'TCP' },
      'out:443': { to: { ip: elsewhere! }, port: 443, protocol: 'TCP' },
    },
  };
}

const TIER_SERVERS: ExtraServers = {
  pods: { 'default/backend': [{ port: 3868, protocol: 'SCTP' }, { port: 3868, protocol: 'TCP' }] },
  outside: [{ port: 443, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }],
};

interface Step {
  readonly name: string;
  /** Step directories applied together; the grid is the last one's expected.txt, or the example's for none. */
  readonly steps: readonly string[];
  readonly more?: (family: 4 | 6) => ExpectedProbe[];
}

const THREE_TIER_STEPS: readonly Step[] = [
  { name: '0: no policy, everything reaches everything', steps: [] },
  {
    name: '1: deny all ingress to the backend',
    steps: ['01-deny-ingress-to-backend'],
  },
  {
    name: '2: policies add up, the frontend reaches the backend again, the lookalike in another namespace does not',
    steps: ['01-deny-ingress-to-backend', '02-allow-frontend-to-backend'],
  },
  {
    name: '3: default deny in both directions, DNS to kube-system on UDP and TCP 53 allowed',
    steps: ['03-default-deny-with-dns'],
  },
  {
    name: '4: namespace isolation by kubernetes.io/metadata.name (default and monitoring get in)',
    steps: ['04-namespace-isolation'],
  },
  {
    name: '5: egress to an ipBlock with except (203.0.113.10 in, 203.0.113.20 excepted) and DNS',
    steps: ['05-egress-to-external-ip'],
    // The ipBlock is IPv4 only: in IPv6 the backend reaches no outside address at all.
    more: (family) =>
      gridProbes(
        tierOutside(family),
        parseGrid(
          family === 4
            ? `
              in:443 in:53udp except:443 out:443
  backend       .      X        X          X
  database      .      .        .          .
  frontend      .      .        .          .
  coredns       .      .        .          .
  prometheus    .      .        .          .
  lookalike     .      .        .          .
`
            : `
              in:443 in:53udp except:443 out:443
  backend       X      X        X          X
  database      .      .        .          .
  frontend      .      .        .          .
  coredns       .      .        .          .
  prometheus    .      .        .          .
  lookalike     .      .        .          .
`,
        ),
        family,
      ),
  },
  {
    name: '6: egress to the database on 3306 only, plus DNS',
    steps: ['06-egress-to-database-3306'],
  },
  {
    name: '7: ingress and egress in one policy (in from the frontend, out to the database on 5432, DNS)',
    steps: ['07-ingress-and-egress'],
  },
  {
    name: '8: several ports in one rule (the backend reaches the database on 3306 and 5432)',
    steps: ['08-multi-port'],
  },
  {
    name: '9: a named port (http is the backend’s 8080, not 80)',
    steps: ['09-named-port'],
  },
  {
    name: '10: a port range with endPort (3000-3999 holds 3306, not 5432)',
    steps: ['10-port-range'],
  },
  {
    name: '11: SCTP (raw INIT/INIT-ACK): the frontend reaches the backend on SCTP 3868, not on TCP 3868',
    steps: ['11-sctp'],
    more: (family) =>
      gridProbes(TIER_DIAMETER, selectColumns(exampleGrid('three-tier', '11-sctp', 'expected-probes.txt'), Object.keys(TIER_DIAMETER.columns)), family),
  },
];

// ------------------------------------------------------------------------------------------------ production-lockdown

const LOCKDOWN_LAYOUT: GridLayout = {
  rows: {
    controller: 'ingress-nginx/controller',
    coredns: 'kube-system/coredns',
    prometheus: 'monitoring/prometheus',
    api: 'production/api',
    postgres: 'production/postgres',
    web: 'production/web',
  },
  columns: {
    'nginx:80': tcp('ingress-nginx/controller', 80),
    'nginx:443': tcp('ingress-nginx/controller', 443),
    'dns:tcp': tcp('kube-system/coredns', 53),
    'dns:udp': udp('kube-system/coredns', 53),
    'prom:9090': tcp('monitoring/prometheus', 9090),
    'api:8080': tcp('production/api', 8080),
    'api:9090': tcp('production/api', 9090),
    'pg:5432': tcp('production/postgres', 5432),
    'web:80': tcp('production/web', 80),
  },
};

const LOCKDOWN_STEPS: readonly Step[] = [
  {
    name: '1: default deny of production, both directions (DNS blocked too)',
    steps: ['01-default-deny'],
  },
  {
    name: '2: DNS to kube-dns in kube-system on UDP and TCP 53',
    steps: ['01-default-deny', '02-allow-dns'],
  },
  {
    name: '3: the ingress controller reaches web on its named port http',
    steps: ['01-default-deny', '02-allow-dns', '03-allow-ingress-controller'],
  },
  {
    name: '4: web reaches the api on 8080 once both ends allow it',
    steps: ['01-default-deny', '02-allow-dns', '03-allow-ingress-controller', '04-allow-web-to-api'],
  },
  {
    name: '5: the api reaches postgres on 5432 (tier=backend AND access-db=true)',
    steps: ['01-default-deny', '02-allow-dns', '03-allow-ingress-controller', '04-allow-web-to-api', '05-allow-api-to-postgres'],
  },
  {
    name: '6: Prometheus scrapes the named port metrics, which only the api declares',
    steps: ['01-default-deny', '02-allow-dns', '03-allow-ingress-controller', '04-allow-web-to-api', '05-allow-api-to-postgres', '06-allow-prometheus-scrape'],
  },
];

/** Seed 003 "Default Deny: Deny All Egress Traffic" (fixture 16) on the lockdown cluster: production reaches nobody. */
const DENY_ALL_EGRESS = parseGrid(`
              nginx:80 nginx:443 dns:tcp dns:udp prom:9090 api:8080 api:9090 pg:5432 web:80
  controller    .        .         .       .       .         .        .        .       .
  coredns       .        .         .       .       .         .        .        .       .
  prometheus    .        .         .       .       .         .        .        .       .
  api           X        X         X       X       X         .        .        X       X
  postgres      X        X         X       X       X         X        X        .       X
  web           X        X         X       X       X         X        X        X       .
`);

// ------------------------------------------------------------------------------------------------ the cases

let threeTier: Example;
let lockdown: Example;

beforeAll(async () => {
  [threeTier, lockdown] = await Promise.all([loadExample(THREE_TIER), loadExample(LOCKDOWN)]);
  // The placements below index pods in this order; a changed example must be looked at again.
  expect(threeTier.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(Object.values(TIER_ROWS));
  expect(lockdown.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(Object.values(LOCKDOWN_LAYOUT.rows));
});

it('places every ordered pair of pods on one node in some layout and on two nodes in another', () => {
  for (let a = 0; a < 6; a++) {
    for (let b = 0; b < 6; b++) {
      if (a === b) continue;
      expect(LAYOUTS.some((layout) => layout.node(a) === layout.node(b))).toBe(true);
      expect(LAYOUTS.some((layout) => layout.node(a) !== layout.node(b))).toBe(true);
    }
  }
});

for (const layout of LAYOUTS) {
  describe(layout.name, () => {
    describe('examples/three-tier', () => {
      for (const step of THREE_TIER_STEPS) {
        it(`step ${step.name}`, async () => {
          await cluster.apply(scenario(threeTier, layout.node, stepTexts(THREE_TIER, step.steps), TIER_SERVERS));
          const expected = [...bothFamilies(TIER, exampleGrid('three-tier', step.steps.at(-1))), ...(step.more ? [...step.more(4), ...step.more(6)] : [])];
          expect(await check(expected)).toEqual([]);
        });
      }

      it('node-local: the node of the ingress-isolated backend reaches it, the other node does not (hostNetwork pods)', async () => {
        await cluster.apply(scenario(threeTier, layout.node, stepTexts(THREE_TIER, ['01-deny-ingress-to-backend']), TIER_SERVERS));
        const backendNode = layout.node(0);
        const expected = cluster.lab.nodes.flatMap((node) =>
          [4, 6].flatMap((family) =>
            [80, 8080].map((port): ExpectedProbe => ({
              probe: { from: `kube-system/node-exporter-${node.name}`, to: 'default/backend', port, protocol: 'TCP', family: family as 4 | 6 },
              expected: node.name === backendNode ? 'connected' : 'timeout',
            })),
          ),
        );
        expect(await check(expected)).toEqual([]);
      });
    });

    describe('examples/production-lockdown', () => {
      for (const step of LOCKDOWN_STEPS) {
        it(`step ${step.name}`, async () => {
          await cluster.apply(scenario(lockdown, layout.node, stepTexts(LOCKDOWN, step.steps)));
          expect(await check(bothFamilies(LOCKDOWN_LAYOUT, exampleGrid('production-lockdown', step.steps.at(-1))))).toEqual([]);
        });
      }

      it('seed 003 deny-all-egress alone: production reaches nobody but itself, and everyone still reaches production', async () => {
        await cluster.apply(scenario(lockdown, layout.node, [readFileSync(join(SEED_FIXTURES, '16-deny-all-egress.yaml'), 'utf8')]));
        expect(await check(bothFamilies(LOCKDOWN_LAYOUT, DENY_ALL_EGRESS))).toEqual([]);
      });
    });
  });
}
