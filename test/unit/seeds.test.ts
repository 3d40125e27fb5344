// What the seed articles' example policies (test/fixtures/seeds, one per policy, the article's claims in each
// header) and the scenarios of examples/ really do, end to end: manifests through the real loader
// (loadManifests), a snapshot, `simulate` for the reachability matrix, and `lint` for the classic mistakes.
//
// Expected matrices are written by hand as grids (test/support/grid.ts): one row per source pod, one column per
// destination and probe, '.' allowed and 'X' denied. A grid must cover every row and column of its layout, and is
// compared with simulate's results as lines `from -> to port/proto: allowed|denied`, so a failure names the
// connection. The examples' grids live in the examples, as each step's expected.txt (test/support/example-grids.ts),
// which test/dataplane/seeds.test.ts checks with real packets too.
//
// Where the seeds are wrong, the cases say so and assert the true semantics:
// - 003 "Common mistake example" (fixture 25): two peers in one `from` list, each with a namespaceSelector and a
//   podSelector, are OR'd, not "(namespaceA AND podX) only": both pairs get in, exactly as with the article's
//   "CORRECT" two-rule version (fixture 26).
// - 003 Pattern 7 (fixture 27): an except narrows only its own ipBlock; 10.10.5.0/24 stays allowed by 10.0.0.0/8.
// - 003 Pattern 9 (fixture 29): a named port resolves against the destination pod's container ports, not a
//   Service's: a pod without a container port named http is not reachable through the rule.
// - 003 Patterns 4 and 6 (fixtures 20, 22): `namespaceSelector: {matchLabels: {name: kube-system}}` matches no
//   namespace unless someone labeled it so; DNS stays blocked. kubernetes.io/metadata.name is the label the API
//   server sets on every namespace. Pattern 6's `podSelector: {}` is the policy's own namespace, not the cluster.
// Where a seed misleads without being wrong:
// - 001 #2 (fixture 07): `ingress: []` is no rule at all, not "the empty ingress rule" (that is `ingress: [{}]`,
//   which allows everything); and a selected pod is isolated only in its policyTypes' directions.
// - 001 #3 and #5, 003 "Mistake 2" CORRECT (fixtures 08, 10, 32): egress allow-lists that block DNS unsaid.
// - 003 Patterns 3 and 5, 002 cross-namespace (fixtures 13, 19, 21): they need namespace labels nothing sets.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type SimulationInput, simulate } from '../../src/cli/simulate.js';
import { DEFAULT_POD_CIDRS, loadManifests, type Protocol } from '../../src/model/index.js';
import type { Probe } from '../../src/policy/index.js';
import { lint } from '../../src/policy/lint/index.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot/snapshot.js';
import { exampleGrid } from '../support/example-grids.js';
import { type Grid, gridCells, parseGrid } from '../support/grid.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SEEDS = join(REPO, 'test', 'fixtures', 'seeds');
const THREE_TIER = join(REPO, 'examples', 'three-tier');
const LOCKDOWN = join(REPO, 'examples', 'production-lockdown');

// ---------------------------------------------------------------------------------------------------------------
// Matrices

/** Short names for a matrix: rows name source pods, columns a destination (pod or IP) and a probe. */
interface Layout {
  readonly rows: Readonly<Record<string, string>>;
  /** `default/backend 80/TCP`, `203.0.113.10 443/TCP` */
  readonly columns: Readonly<Record<string, string>>;
}

/** Columns for every (destination, probe) pair: `be:443` for pods `{be: 'default/backend'}` and probes `{443: '443/TCP'}`. */
function probeColumns(destinations: Readonly<Record<string, string>>, probes: Readonly<Record<string, string>>): Record<string, string> {
  const columns: Record<string, string> = {};
  for (const [short, to] of Object.entries(destinations)) {
    for (const [suffix, probe] of Object.entries(probes)) columns[`${short}:${suffix}`] = `${to} ${probe}`;
  }
  return columns;
}

/** The lines a hand-written grid stands for; throws on a grid that does not cover its layout exactly. */
function gridLines(layout: Layout, grid: Grid): string[] {
  return gridCells(grid, Object.keys(layout.rows), Object.keys(layout.columns)).map(
    ({ row, column, allowed }) => `${layout.rows[row]} -> ${layout.columns[column]}: ${allowed ? 'allowed' : 'denied'}`,
  );
}

function matrixLines(snapshot: Snapshot, input: SimulationInput): string[] {
  return simulate(snapshot, input)
    .map((r) => `${r.from} -> ${r.to} ${r.port}/${r.protocol}: ${r.allowed ? 'allowed' : 'denied'}`)
    .sort();
}

function probe(text: string): Probe {
  const [port, protocol] = text.split('/');
  return { port: Number(port), protocol: protocol as Protocol };
}

/** Every destination's declared ports: `bulkhead simulate` without --probe. */
const DECLARED_PORTS: SimulationInput = { probes: [], externalIPs: [] };

function probing(probes: readonly string[], externalIPs: readonly string[] = []): SimulationInput {
  return { probes: probes.map(probe), externalIPs };
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

const OPTIONS = { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS };

async function loadSnapshot(paths: readonly string[]): Promise<Snapshot> {
  const loaded = await loadManifests(paths, OPTIONS);
  expect(loaded.errors).toEqual([]);
  expect(loaded.warnings).toEqual([]);
  return buildSnapshot(loaded);
}

/** `check field` of every lint warning, the way a user reads them. */
function lintFindings(snapshot: Snapshot): string[] {
  return lint(snapshot).map((w) => `${w.check} ${w.field}`);
}

// Clusters that only some seed examples need live here, written to files so they too go through loadManifests.
const scratch = mkdtempSync(join(tmpdir(), 'bulkhead-seeds-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function clusterFile(name: string, yaml: string): string {
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

/**
 * A pod manifest listening on TCP ports, optionally with its address. Names are quoted:
 * unquoted, a pod named y is the YAML 1.1 boolean true (the trap fixture 25's header describes).
 */
function pod(namespace: string, name: string, labels: Record<string, string>, ports: readonly number[], ip?: string): string {
  const portList = ports.map((p) => `{containerPort: ${p}}`).join(', ');
  const status = ip ? `\nstatus: {podIPs: [{ip: ${ip}}]}` : '';
  return `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${JSON.stringify(name)}, namespace: ${JSON.stringify(namespace)}, labels: ${JSON.stringify(labels)}}\nspec: {containers: [{name: main, image: app, ports: [${portList}]}]}${status}\n`;
}

function namespace(name: string, labels: Record<string, string> = {}): string {
  return `---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ${JSON.stringify(name)}, labels: ${JSON.stringify(labels)}}\n`;
}

const COREDNS = `---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  containers:
    - name: coredns
      image: coredns/coredns
      ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}]
`;

// ---------------------------------------------------------------------------------------------------------------
// Scenarios: a cluster, and the layouts its matrices are read in

const THREE_TIER_PODS = {
  backend: 'default/backend',
  database: 'default/database',
  frontend: 'default/frontend',
  coredns: 'kube-system/coredns',
  prometheus: 'monitoring/prometheus',
  lookalike: 'other/lookalike',
};
const THREE_TIER_SHORT = { be: THREE_TIER_PODS.backend, db: THREE_TIER_PODS.database, fe: THREE_TIER_PODS.frontend, dns: THREE_TIER_PODS.coredns, prom: THREE_TIER_PODS.prometheus, look: THREE_TIER_PODS.lookalike };
/** examples/three-tier as `bulkhead simulate` probes it by default: each pod's declared container ports. */
const THREE_TIER_DECLARED: Layout = {
  rows: THREE_TIER_PODS,
  columns: {
    'be:80': 'default/backend 80/TCP',
    'be:8080': 'default/backend 8080/TCP',
    'db:3306': 'default/database 3306/TCP',
    'db:5432': 'default/database 5432/TCP',
    'fe:80': 'default/frontend 80/TCP',
    'dns:tcp': 'kube-system/coredns 53/TCP',
    'dns:udp': 'kube-system/coredns 53/UDP',
    'prom:9090': 'monitoring/prometheus 9090/TCP',
    'look:80': 'other/lookalike 80/TCP',
  },
};

const LOCKDOWN_PODS = {
  web: 'production/web',
  api: 'production/api',
  postgres: 'production/postgres',
  controller: 'ingress-nginx/controller',
  prometheus: 'monitoring/prometheus',
  coredns: 'kube-system/coredns',
};
/** examples/production-lockdown, each pod's declared container ports. */
const LOCKDOWN_DECLARED: Layout = {
  rows: LOCKDOWN_PODS,
  columns: {
    'web:80': 'production/web 80/TCP',
    'api:8080': 'production/api 8080/TCP',
    'api:9090': 'production/api 9090/TCP',
    'pg:5432': 'production/postgres 5432/TCP',
    'nginx:80': 'ingress-nginx/controller 80/TCP',
    'nginx:443': 'ingress-nginx/controller 443/TCP',
    'prom:9090': 'monitoring/prometheus 9090/TCP',
    'dns:tcp': 'kube-system/coredns 53/TCP',
    'dns:udp': 'kube-system/coredns 53/UDP',
  },
};

/** Seed 000's docs example (fixture 02): an ipBlock with except on the ingress side needs pods at known addresses. */
const DOCS_CLUSTER = () =>
  clusterFile(
    'docs-example',
    namespace('default') +
      namespace('myproject', { project: 'myproject' }) +
      namespace('other') +
      pod('default', 'db', { role: 'db' }, [6379]) +
      pod('default', 'frontend', { role: 'frontend' }, [80]) +
      pod('default', 'legacy-a', {}, [80], '172.17.0.20') +
      pod('default', 'legacy-b', {}, [80], '172.17.1.20') +
      pod('myproject', 'app', {}, [80]) +
      pod('other', 'frontend', { role: 'frontend' }, [80]),
  );
const DOCS_PODS = { db: 'default/db', fe: 'default/frontend', legA: 'default/legacy-a', legB: 'default/legacy-b', mp: 'myproject/app', ofe: 'other/frontend' };
const DOCS_LAYOUT: Layout = {
  rows: DOCS_PODS,
  columns: probeColumns({ ...DOCS_PODS, '10.0.0.5': '10.0.0.5', '10.0.1.5': '10.0.1.5' }, { 6379: '6379/TCP', 5978: '5978/TCP' }),
};

/** Seed 000's namespace isolation (fixture 03): namespaces frontend and backend, and a third. */
const NAMESPACES_CLUSTER = () =>
  clusterFile(
    'namespaces',
    pod('frontend', 'web', { app: 'web' }, [80]) +
      pod('backend', 'api', { app: 'api' }, [80]) +
      pod('backend', 'worker', { app: 'worker' }, [80]) +
      pod('other', 'client', { app: 'client' }, [80]),
  );
const NAMESPACES_PODS = { web: 'frontend/web', api: 'backend/api', worker: 'backend/worker', client: 'other/client' };
const NAMESPACES_LAYOUT: Layout = { rows: NAMESPACES_PODS, columns: probeColumns(NAMESPACES_PODS, { 80: '80/TCP' }) };

/** Seed 001's microservices (fixture 10) and seed 003's payment service (fixture 22) in default, DNS in kube-system. */
const APPS_CLUSTER = () =>
  clusterFile(
    'apps',
    pod('default', 'api', { app: 'api' }, [80]) +
      pod('default', 'backend', { app: 'backend' }, [80]) +
      pod('default', 'db', { app: 'db' }, [5432]) +
      pod('default', 'payment', { app: 'payment-service' }, [80]) +
      COREDNS,
  );
const APPS_PODS = { api: 'default/api', be: 'default/backend', db: 'default/db', pay: 'default/payment', dns: 'kube-system/coredns' };
const APPS_DECLARED: Layout = {
  rows: APPS_PODS,
  columns: {
    'api:80': 'default/api 80/TCP',
    'be:80': 'default/backend 80/TCP',
    'db:5432': 'default/db 5432/TCP',
    'pay:80': 'default/payment 80/TCP',
    'dns:tcp': 'kube-system/coredns 53/TCP',
    'dns:udp': 'kube-system/coredns 53/UDP',
  },
};

/**
 * Seed 003's selector logic (fixtures 23-26): namespace a labeled name=a and env=production, namespace b labeled
 * name=b (the hand-made labels those examples select on), and the targets in default.
 */
const PEERS_CLUSTER = () =>
  clusterFile(
    'peers',
    namespace('a', { name: 'a', env: 'production' }) +
      namespace('b', { name: 'b' }) +
      pod('a', 'frontend', { app: 'frontend' }, [80]) +
      pod('a', 'x', { app: 'x' }, [80]) +
      pod('b', 'x', { app: 'x' }, [80]) +
      pod('b', 'y', { app: 'y' }, [80]) +
      pod('default', 'frontend', { app: 'frontend' }, [80]) +
      pod('default', 'server', { app: 'server' }, [80]),
  );
const PEERS_PODS = { 'a-fe': 'a/frontend', 'a-x': 'a/x', 'b-x': 'b/x', 'b-y': 'b/y', fe: 'default/frontend', server: 'default/server' };
const PEERS_LAYOUT: Layout = { rows: PEERS_PODS, columns: probeColumns(PEERS_PODS, { 80: '80/TCP' }) };

// ---------------------------------------------------------------------------------------------------------------
// The seed fixtures

interface SeedCase {
  readonly fixture: string;
  /** What the matrix shows, in words. */
  readonly shows: string;
  readonly cluster: () => string;
  readonly input: SimulationInput;
  readonly layout: Layout;
  readonly grid: Grid;
  /** `check field` of each lint warning, in lint's order (by field). */
  readonly lint: readonly string[];
}

const threeTier = () => join(THREE_TIER, 'pods.yaml');
const lockdown = () => join(LOCKDOWN, 'pods.yaml');

// Seed fixtures that do what a step of examples/three-tier does give its matrix.
const BACKEND_CLOSED = exampleGrid('three-tier', '01-deny-ingress-to-backend');
const BACKEND_ONLY_FROM_FRONTEND = exampleGrid('three-tier', '02-allow-frontend-to-backend');
const ALL_OPEN_THREE_TIER = exampleGrid('three-tier', undefined);
// Recurring grids on the cluster of examples/production-lockdown.
const PRODUCTION_EGRESS_CLOSED = parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
    web           .      X        X        X       X        X         X         X       X
    api           X      .        .        X       X        X         X         X       X
    postgres      X      X        X        .       X        X         X         X       X
    controller    .      .        .        .       .        .         .         .       .
    prometheus    .      .        .        .       .        .         .         .       .
    coredns       .      .        .        .       .        .         .         .       .
`);
const PRODUCTION_INGRESS_CLOSED = parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
    web           .      X        X        X       .        .         .         .       .
    api           X      .        .        X       .        .         .         .       .
    postgres      X      X        X        .       .        .         .         .       .
    controller    X      X        X        X       .        .         .         .       .
    prometheus    X      X        X        X       .        .         .         .       .
    coredns       X      X        X        X       .        .         .         .       .
`);
const API_8080_FROM_WEB_ONLY = parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
    web           .      .        X        .       .        .         .         .       .
    api           .      .        .        .       .        .         .         .       .
    postgres      .      X        X        .       .        .         .         .       .
    controller    .      X        X        .       .        .         .         .       .
    prometheus    .      X        X        .       .        .         .         .       .
    coredns       .      X        X        .       .        .         .         .       .
`);
const ALL_OPEN_LOCKDOWN = parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
    web           .      .        .        .       .        .         .         .       .
    api           .      .        .        .       .        .         .         .       .
    postgres      .      .        .        .       .        .         .         .       .
    controller    .      .        .        .       .        .         .         .       .
    prometheus    .      .        .        .       .        .         .         .       .
    coredns       .      .        .        .       .        .         .         .       .
`);
const BOTH_PAIRS_ONLY = parseGrid(`
                a-fe:80 a-x:80 b-x:80 b-y:80 fe:80 server:80
    a-fe          .       .      .      .      X      X
    a-x           .       .      .      .      .      .
    b-x           .       .      .      .      X      X
    b-y           .       .      .      .      .      .
    fe            .       .      .      .      .      X
    server        .       .      .      .      X      .
`);

const SEED_CASES: readonly SeedCase[] = [
  {
    fixture: '01-allow-frontend.yaml',
    shows: 'backend open to the frontend of its own namespace only, on every port; the lookalike in other stays out',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: BACKEND_ONLY_FROM_FRONTEND,
    // A policy aimed at some pods reads as ingress-only on purpose: egress-left-open speaks only for {} selectors.
    lint: [],
  },
  {
    fixture: '02-my-network-policy.yaml',
    shows: 'db takes 6379 from 172.17.0.0/16 but not its except, from namespace project=myproject, and from role=frontend of default only; its egress is 10.0.0.0/24:5978 alone',
    cluster: DOCS_CLUSTER,
    input: probing(['6379/TCP', '5978/TCP'], ['10.0.0.5', '10.0.1.5']),
    layout: DOCS_LAYOUT,
    grid: parseGrid(`
            db:6379 db:5978 fe:6379 fe:5978 legA:6379 legA:5978 legB:6379 legB:5978 mp:6379 mp:5978 ofe:6379 ofe:5978 10.0.0.5:6379 10.0.0.5:5978 10.0.1.5:6379 10.0.1.5:5978
      db      .       .       X       X       X         X         X         X         X       X       X        X         X             .             X             X
      fe      .       X       .       .       .         .         .         .         .       .       .        .         .             .             .             .
      legA    .       X       .       .       .         .         .         .         .       .       .        .         .             .             .             .
      legB    X       X       .       .       .         .         .         .         .       .       .        .         .             .             .             .
      mp      .       X       .       .       .         .         .         .         .       .       .        .         .             .             .             .
      ofe     X       X       .       .       .         .         .         .         .       .       .        .         .             .             .             .
    `),
    // No and-or-trap: with an ipBlock as a third peer the list is plainly meant as alternatives.
    lint: ['dns-blocked spec.egress', 'ipblock-covers-pods spec.ingress[0].from[0].ipBlock'],
  },
  {
    fixture: '03-allow-from-frontend-namespace.yaml',
    shows: 'the backend namespace takes only the frontend namespace, not even its own pods',
    cluster: NAMESPACES_CLUSTER,
    input: DECLARED_PORTS,
    layout: NAMESPACES_LAYOUT,
    grid: parseGrid(`
                web:80 api:80 worker:80 client:80
      web         .      .      .         .
      api         .      .      X         .
      worker      .      X      .         .
      client      .      X      X         .
    `),
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '04-deny-all-ingress-to-backend.yaml',
    shows: 'nobody but the backend itself reaches the backend',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: BACKEND_CLOSED,
    lint: [],
  },
  {
    fixture: '05-allow-frontend-ingress-to-backend.yaml',
    shows: 'alone it already closes the backend to all but the frontend; with 04 it means the same',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: BACKEND_ONLY_FROM_FRONTEND,
    lint: [],
  },
  {
    fixture: '06-allow-frontend-ingress.yaml',
    shows: 'the frontend takes only the backend',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       .       .       .     .       .       .        .
      database    .     .       .       .       X     .       .       .        .
      frontend    .     .       .       .       .     .       .       .        .
      coredns     .     .       .       .       X     .       .       .        .
      prometheus  .     .       .       .       X     .       .       .        .
      lookalike   .     .       .       .       X     .       .       .        .
    `),
    lint: [],
  },
  {
    fixture: '07-deny-all-ingress.yaml',
    shows: '`ingress: []` allows nothing in; the database still reaches everything (egress not isolated)',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       X       X       .     .       .       .        .
      database    .     .       .       .       .     .       .       .        .
      frontend    .     .       X       X       .     .       .       .        .
      coredns     .     .       X       X       .     .       .       .        .
      prometheus  .     .       X       X       .     .       .       .        .
      lookalike   .     .       X       X       .     .       .       .        .
    `),
    lint: [],
  },
  {
    fixture: '08-allow-egress-database.yaml',
    shows: 'the frontend reaches the database on 3306 only, and nothing else: DNS included',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       .       .       .     .       .       .        .
      database    .     .       .       .       .     .       .       .        .
      frontend    X     X       .       X       .     X       X       X        X
      coredns     .     .       .       .       .     .       .       .        .
      prometheus  .     .       .       .       .     .       .       .        .
      lookalike   .     .       .       .       .     .       .       .        .
    `),
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '09-allow-egress-external.yaml',
    shows: 'the backend reaches 8.8.8.8 on any port and nothing else, cluster DNS included (a simulated probe: no packet is sent)',
    cluster: threeTier,
    input: probing(['443/TCP', '53/UDP'], ['8.8.8.8', '203.0.113.10']),
    layout: { rows: THREE_TIER_PODS, columns: probeColumns({ ...THREE_TIER_SHORT, '8.8.8.8': '8.8.8.8', '203.0.113.10': '203.0.113.10' }, { 443: '443/TCP', udp: '53/UDP' }) },
    grid: parseGrid(`
                be:443 be:udp db:443 db:udp fe:443 fe:udp dns:443 dns:udp prom:443 prom:udp look:443 look:udp 8.8.8.8:443 8.8.8.8:udp 203.0.113.10:443 203.0.113.10:udp
      backend     .      .      X      X      X      X      X       X       X        X        X        X        .           .           X                X
      database    .      .      .      .      .      .      .       .       .        .        .        .        .           .           .                .
      frontend    .      .      .      .      .      .      .       .       .        .        .        .        .           .           .                .
      coredns     .      .      .      .      .      .      .       .       .        .        .        .        .           .           .                .
      prometheus  .      .      .      .      .      .      .       .       .        .        .        .        .           .           .                .
      lookalike   .      .      .      .      .      .      .       .       .        .        .        .        .           .           .                .
    `),
    // dns-blocked: the cluster has its DNS pods (k8s-app=kube-dns), and the backend's verdict towards them is
    // denied; port 53 to 8.8.8.8 does not help a pod whose resolver is the cluster DNS.
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '10-allow-ingress-egress.yaml',
    shows: 'the backend takes the api only and reaches db:5432 only; DNS is blocked',
    cluster: APPS_CLUSTER,
    input: DECLARED_PORTS,
    layout: APPS_DECLARED,
    grid: parseGrid(`
            api:80 be:80 db:5432 pay:80 dns:tcp dns:udp
      api     .      .     .       .      .       .
      be      X      .     .       X      X       X
      db      .      X     .       .      .       .
      pay     .      X     .       .      .       .
      dns     .      X     .       .      .       .
    `),
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '11-default-deny-all.yaml',
    shows: 'production pods reach and are reached by nobody but themselves',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    // The same policy as examples/production-lockdown step 1, so its matrix.
    grid: exampleGrid('production-lockdown', '01-default-deny'),
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '12-allow-web-to-api.yaml',
    shows: 'the api takes web on 8080 only',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: API_8080_FROM_WEB_ONLY,
    lint: [],
  },
  {
    fixture: '13-allow-prometheus-cross-namespace.yaml',
    shows: 'no namespace is labeled environment=monitoring, so production takes nobody, Prometheus included',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: PRODUCTION_INGRESS_CLOSED,
    lint: ['namespace-label-missing spec.ingress[0].from[0].namespaceSelector.matchLabels.environment', 'egress-left-open spec.policyTypes'],
  },
  {
    fixture: '14-allow-dns.yaml',
    shows: 'production pods reach CoreDNS on 53 and nothing else',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
      web         .      X        X        X       X        X         X         .       .
      api         X      .        .        X       X        X         X         .       .
      postgres    X      X        X        .       X        X         X         .       .
      controller  .      .        .        .       .        .         .         .       .
      prometheus  .      .        .        .       .        .         .         .       .
      coredns     .      .        .        .       .        .         .         .       .
    `),
    lint: [],
  },
  {
    fixture: '15-deny-all-ingress-production.yaml',
    shows: 'production takes nobody; its egress stays open',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: PRODUCTION_INGRESS_CLOSED,
    lint: [],
  },
  {
    fixture: '16-deny-all-egress.yaml',
    shows: 'production reaches nobody, DNS included; its ingress stays open',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: PRODUCTION_EGRESS_CLOSED,
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '17-allow-frontend-to-backend-production.yaml',
    shows: 'the backend tier takes the frontend tier on 8080 only',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: API_8080_FROM_WEB_ONLY,
    lint: [],
  },
  {
    fixture: '18-postgres-access-control.yaml',
    shows: 'postgres takes pods with tier=backend AND access-db=true, on 5432',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
      web         .      .        .        X       .        .         .         .       .
      api         .      .        .        .       .        .         .         .       .
      postgres    .      .        .        .       .        .         .         .       .
      controller  .      .        .        X       .        .         .         .       .
      prometheus  .      .        .        X       .        .         .         .       .
      coredns     .      .        .        X       .        .         .         .       .
    `),
    lint: [],
  },
  {
    fixture: '19-allow-monitoring-scraping.yaml',
    shows: 'no pod carries a prometheus.io/scrape LABEL, so the policy changes nothing',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: ALL_OPEN_LOCKDOWN,
    lint: [
      'namespace-label-missing spec.ingress[0].from[0].namespaceSelector.matchLabels.name',
      'selector-matches-nothing spec.podSelector.matchLabels.prometheus.io/scrape',
    ],
  },
  {
    fixture: '20-allow-dns-access.yaml',
    shows: 'no namespace is labeled name=kube-system: production reaches nobody, DNS included (the article says the opposite)',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: PRODUCTION_EGRESS_CLOSED,
    lint: ['dns-blocked spec.egress', 'namespace-label-missing spec.egress[0].to[0].namespaceSelector.matchLabels.name'],
  },
  {
    fixture: '21-allow-ingress-controller.yaml',
    shows: 'no namespace is labeled name=ingress-nginx: web takes nobody, the controller included',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: parseGrid(`
                web:80 api:8080 api:9090 pg:5432 nginx:80 nginx:443 prom:9090 dns:tcp dns:udp
      web         .      .        .        .       .        .         .         .       .
      api         X      .        .        .       .        .         .         .       .
      postgres    X      .        .        .       .        .         .         .       .
      controller  X      .        .        .       .        .         .         .       .
      prometheus  X      .        .        .       .        .         .         .       .
      coredns     X      .        .        .       .        .         .         .       .
    `),
    lint: ['namespace-label-missing spec.ingress[0].from[0].namespaceSelector.matchLabels.name'],
  },
  {
    fixture: '22-allow-external-payment-api.yaml',
    shows: '"internal cluster traffic" is namespace default only, and DNS is blocked (name=kube-system labels nothing)',
    cluster: APPS_CLUSTER,
    input: probing(['443/TCP', '53/UDP'], ['52.32.123.45']),
    layout: { rows: APPS_PODS, columns: probeColumns({ ...APPS_PODS, stripe: '52.32.123.45' }, { 443: '443/TCP', udp: '53/UDP' }) },
    grid: parseGrid(`
            api:443 api:udp be:443 be:udp db:443 db:udp pay:443 pay:udp dns:443 dns:udp stripe:443 stripe:udp
      api     .       .       .      .      .      .      .       .       .       .       .          .
      be      .       .       .      .      .      .      .       .       .       .       .          .
      db      .       .       .      .      .      .      .       .       .       .       .          .
      pay     .       .       .      .      .      .      .       .       X       X       .          X
      dns     .       .       .      .      .      .      .       .       .       .       .          .
    `),
    lint: ['dns-blocked spec.egress', 'namespace-label-missing spec.egress[2].to[0].namespaceSelector.matchLabels.name'],
  },
  {
    fixture: '23-and-namespace-and-pod.yaml',
    shows: 'only app=frontend pods of env=production namespaces get in',
    cluster: PEERS_CLUSTER,
    input: DECLARED_PORTS,
    layout: PEERS_LAYOUT,
    grid: parseGrid(`
                a-fe:80 a-x:80 b-x:80 b-y:80 fe:80 server:80
      a-fe        .       .      .      .      .      .
      a-x         .       .      .      .      X      X
      b-x         .       .      .      .      X      X
      b-y         .       .      .      .      X      X
      fe          .       .      .      .      .      X
      server      .       .      .      .      X      .
    `),
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '24-or-namespace-or-pod.yaml',
    shows: 'every pod of env=production namespaces, OR app=frontend pods of default (not of every namespace)',
    cluster: PEERS_CLUSTER,
    input: DECLARED_PORTS,
    layout: PEERS_LAYOUT,
    grid: parseGrid(`
                a-fe:80 a-x:80 b-x:80 b-y:80 fe:80 server:80
      a-fe        .       .      .      .      .      .
      a-x         .       .      .      .      .      .
      b-x         .       .      .      .      X      X
      b-y         .       .      .      .      X      X
      fe          .       .      .      .      .      .
      server      .       .      .      .      X      .
    `),
    lint: ['and-or-trap spec.ingress[0].from[1]', 'egress-left-open spec.policyTypes'],
  },
  {
    fixture: '25-two-and-peers-in-one-rule.yaml',
    shows: 'SEED WRONG: both (a AND x) and (b AND y) get in, not "(namespaceA AND podX) only"',
    cluster: PEERS_CLUSTER,
    input: DECLARED_PORTS,
    layout: PEERS_LAYOUT,
    grid: BOTH_PAIRS_ONLY,
    // Correct usage, so no and-or-trap: that check is for a namespace-only and a pod-only peer side by side.
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '26-two-rules-one-peer-each.yaml',
    shows: 'the "CORRECT" version: the very same matrix as 25',
    cluster: PEERS_CLUSTER,
    input: DECLARED_PORTS,
    layout: PEERS_LAYOUT,
    grid: BOTH_PAIRS_ONLY,
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '27-private-ranges-with-except.yaml',
    shows: 'SEED WRONG: 10.10.5.5 is allowed by the 10.0.0.0/8 peer; only addresses outside all four blocks are denied',
    cluster: threeTier,
    input: probing(['443/TCP'], ['10.10.5.5', '10.1.2.3', '172.16.0.1', '192.168.1.1', '203.0.113.10']),
    layout: {
      rows: THREE_TIER_PODS,
      columns: probeColumns(
        { ...THREE_TIER_SHORT, '10.10.5.5': '10.10.5.5', '10.1.2.3': '10.1.2.3', '172.16.0.1': '172.16.0.1', '192.168.1.1': '192.168.1.1', '203.0.113.10': '203.0.113.10' },
        { 443: '443/TCP' },
      ),
    },
    grid: parseGrid(`
                be:443 db:443 fe:443 dns:443 prom:443 look:443 10.10.5.5:443 10.1.2.3:443 172.16.0.1:443 192.168.1.1:443 203.0.113.10:443
      backend     .      .      .      .       .        .        .             .            .              .               X
      database    .      .      .      .       .        .        .             .            .              .               X
      frontend    .      .      .      .       .        .        .             .            .              .               X
      coredns     .      .      .      .       .        .        .             .            .              .               .
      prometheus  .      .      .      .       .        .        .             .            .              .               .
      lookalike   .      .      .      .       .        .        .             .            .              .               .
    `),
    // 10.0.0.0/8 holds the pod network: pods are reached through it (DNS too), which lint points out.
    lint: ['ipblock-covers-pods spec.egress[0].to[0].ipBlock'],
  },
  {
    fixture: '28-multi-port.yaml',
    shows: 'default takes only the backend, on 5432 or 6379: database 5432 opens, 3306 does not',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       X       .       X     .       .       .        .
      database    X     X       .       .       X     .       .       .        .
      frontend    X     X       X       X       .     .       .       .        .
      coredns     X     X       X       X       X     .       .       .        .
      prometheus  X     X       X       X       X     .       .       .        .
      lookalike   X     X       X       X       X     .       .       .        .
    `),
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '29-named-port.yaml',
    shows: 'SEED WRONG: http resolves on each pod: 8080 on the backend, nothing on the database; the Service plays no part',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       X       X       X     .       .       .        .
      database    X     X       .       .       X     .       .       .        .
      frontend    X     .       X       X       .     .       .       .        .
      coredns     X     X       X       X       X     .       .       .        .
      prometheus  X     X       X       X       X     .       .       .        .
      lookalike   X     X       X       X       X     .       .       .        .
    `),
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '30-typo-fronted.yaml',
    shows: 'the typo selects no pod: nothing changes, silently but for lint',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: ALL_OPEN_THREE_TIER,
    lint: ['selector-matches-nothing spec.podSelector.matchLabels.app'],
  },
  {
    fixture: '31-missing-policytypes.yaml',
    shows: 'default takes only its frontend; egress stays open',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       X       X       X     .       .       .        .
      database    X     X       .       .       X     .       .       .        .
      frontend    .     .       .       .       .     .       .       .        .
      coredns     X     X       X       X       X     .       .       .        .
      prometheus  X     X       X       X       X     .       .       .        .
      lookalike   X     X       X       X       X     .       .       .        .
    `),
    lint: ['egress-left-open spec.policyTypes'],
  },
  {
    fixture: '32-policytypes-both.yaml',
    shows: '"now egress is also controlled": by denying all of it, so even frontend -> backend dies',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: parseGrid(`
                be:80 be:8080 db:3306 db:5432 fe:80 dns:tcp dns:udp prom:9090 look:80
      backend     .     .       X       X       X     X       X       X        X
      database    X     X       .       .       X     X       X       X        X
      frontend    X     X       X       X       .     X       X       X        X
      coredns     X     X       X       X       X     .       .       .        .
      prometheus  X     X       X       X       X     .       .       .        .
      lookalike   X     X       X       X       X     .       .       .        .
    `),
    lint: ['dns-blocked spec.egress'],
  },
  {
    fixture: '33-annotated.yaml',
    shows: 'annotations change nothing: the same matrix as 17',
    cluster: lockdown,
    input: DECLARED_PORTS,
    layout: LOCKDOWN_DECLARED,
    grid: API_8080_FROM_WEB_ONLY,
    lint: [],
  },
  {
    fixture: '34-allow-frontend-to-backend.yaml',
    shows: 'the same as 01',
    cluster: threeTier,
    input: DECLARED_PORTS,
    layout: THREE_TIER_DECLARED,
    grid: BACKEND_ONLY_FROM_FRONTEND,
    // A policy aimed at some pods reads as ingress-only on purpose: egress-left-open speaks only for {} selectors.
    lint: [],
  },
];

describe('the seed articles, simulated', () => {
  it('cover every fixture once', () => {
    const fixtures = readdirSync(SEEDS).filter((f) => f.endsWith('.yaml')).sort();
    expect(SEED_CASES.map((c) => c.fixture)).toEqual(fixtures);
  });

  it.each(SEED_CASES)('$fixture: $shows', async ({ fixture, cluster, input, layout, grid, lint: findings }) => {
    const snapshot = await loadSnapshot([cluster(), join(SEEDS, fixture)]);
    expect(matrixLines(snapshot, input)).toEqual(gridLines(layout, grid).sort());
    expect(lintFindings(snapshot)).toEqual(findings);
  });

  it('20 works once kube-system carries the hand-made label name=kube-system, as the article advises later', async () => {
    const labeled = clusterFile('kube-system-labeled', namespace('kube-system', { name: 'kube-system' }));
    const loaded = await loadManifests([join(LOCKDOWN, 'pods.yaml'), labeled, join(SEEDS, '20-allow-dns-access.yaml')], OPTIONS);
    expect(loaded.errors).toEqual([]);
    expect(loaded.warnings.map((w) => `${w.object}: ${w.message.split(';')[0]}`)).toEqual(['Namespace kube-system: defined again']);
    const snapshot = buildSnapshot(loaded);
    const lines = matrixLines(snapshot, DECLARED_PORTS);
    expect(lines).toContain('production/web -> kube-system/coredns 53/UDP: allowed');
    expect(lines).toContain('production/web -> kube-system/coredns 53/TCP: allowed');
    expect(lintFindings(snapshot)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The examples: each step as its README says to simulate it

interface ExampleStep {
  readonly step: string;
  /** Step directories given with -f after pods.yaml, relative to the example; the last one holds expected.txt. */
  readonly dirs: readonly string[];
  /** The README's own probes, where it simulates more than the declared ports: the grid is expected-probes.txt. */
  readonly probes?: { readonly input: SimulationInput; readonly layout: Layout };
  readonly lint: readonly string[];
}

const THREE_TIER_STEPS: readonly ExampleStep[] = [
  { step: '0 no policy: all open', dirs: [], lint: [] },
  { step: '1 deny all ingress to the backend', dirs: ['steps/01-deny-ingress-to-backend'], lint: [] },
  { step: '2 and allow the frontend to the backend', dirs: ['steps/01-deny-ingress-to-backend', 'steps/02-allow-frontend-to-backend'], lint: [] },
  { step: '3 default deny, DNS allowed', dirs: ['steps/03-default-deny-with-dns'], lint: [] },
  { step: '4 namespace isolation: default takes default and monitoring', dirs: ['steps/04-namespace-isolation'], lint: [] },
  {
    step: '5 backend egress to 203.0.113.0/24:443 except 203.0.113.20, and DNS',
    dirs: ['steps/05-egress-to-external-ip'],
    probes: {
      input: probing(['443/TCP', '53/UDP'], ['203.0.113.10', '203.0.113.20']),
      layout: { rows: THREE_TIER_PODS, columns: probeColumns({ ...THREE_TIER_SHORT, '.10': '203.0.113.10', '.20': '203.0.113.20' }, { 443: '443/TCP', udp: '53/UDP' }) },
    },
    lint: [],
  },
  { step: '6 frontend egress to the database on 3306 only, and DNS', dirs: ['steps/06-egress-to-database-3306'], lint: [] },
  {
    step: '7 one policy, both directions: backend in from the frontend, out to the database on 5432 and DNS',
    dirs: ['steps/07-ingress-and-egress'],
    lint: [],
  },
  { step: '8 multi-port: the database takes the backend on 3306 and 5432', dirs: ['steps/08-multi-port'], lint: [] },
  { step: '9 named port: the backend takes the frontend on http, its 8080', dirs: ['steps/09-named-port'], lint: [] },
  { step: '10 endPort: the database takes the backend on 3000-3999', dirs: ['steps/10-port-range'], lint: [] },
  {
    step: '11 SCTP: the backend takes the frontend on SCTP 3868, not TCP 3868',
    dirs: ['steps/11-sctp'],
    probes: {
      input: probing(['3868/SCTP', '3868/TCP']),
      layout: { rows: THREE_TIER_PODS, columns: probeColumns(THREE_TIER_SHORT, { sctp: '3868/SCTP', tcp: '3868/TCP' }) },
    },
    lint: [],
  },
];

const LOCKDOWN_STEP_DIRS = [
  'steps/01-default-deny',
  'steps/02-allow-dns',
  'steps/03-allow-ingress-controller',
  'steps/04-allow-web-to-api',
  'steps/05-allow-api-to-postgres',
  'steps/06-allow-prometheus-scrape',
];

/** Steps of production-lockdown build on each other: step n is step directories 1 to n. */
function lockdownStep(n: number, step: string, findings: readonly string[] = []): ExampleStep {
  return { step, dirs: LOCKDOWN_STEP_DIRS.slice(0, n), lint: findings };
}

const LOCKDOWN_STEPS: readonly ExampleStep[] = [
  lockdownStep(1, '1 default deny: production is cut off, DNS included', ['dns-blocked spec.egress']),
  lockdownStep(2, '2 + DNS'),
  lockdownStep(3, '3 + the ingress controller to web'),
  lockdownStep(4, '4 + web to the api on 8080, allowed at both ends'),
  lockdownStep(5, '5 + the api to postgres on 5432'),
  lockdownStep(6, '6 + Prometheus scrapes the port named metrics: the api only'),
];

/** The step directory whose expected.txt holds the matrix of these directories together, or none for no policy. */
function gridStep(dirs: readonly string[]): string | undefined {
  return dirs.at(-1)?.replace(/^steps\//, '');
}

describe.each([
  ['three-tier', THREE_TIER_DECLARED, THREE_TIER_STEPS],
  ['production-lockdown', LOCKDOWN_DECLARED, LOCKDOWN_STEPS],
] as const)('examples/%s', (example, declared, steps) => {
  const root = join(REPO, 'examples', example);

  it.each(steps)('step $step', async ({ dirs, probes, lint: findings }) => {
    const snapshot = await loadSnapshot([join(root, 'pods.yaml'), ...dirs.map((dir) => join(root, dir))]);
    expect(matrixLines(snapshot, DECLARED_PORTS)).toEqual(gridLines(declared, exampleGrid(example, gridStep(dirs))).sort());
    expect(lintFindings(snapshot)).toEqual(findings);
  });

  const probed = steps.flatMap(({ step, dirs, probes }) => (probes === undefined ? [] : [{ step, dirs, probes }]));

  it.each(probed)('step $step, on the README probes', async ({ dirs, probes }) => {
    const snapshot = await loadSnapshot([join(root, 'pods.yaml'), ...dirs.map((dir) => join(root, dir))]);
    expect(matrixLines(snapshot, probes.input)).toEqual(gridLines(probes.layout, exampleGrid(example, gridStep(dirs), 'expected-probes.txt')).sort());
  });

  it('has a test for every step directory, and reads every expected-probes.txt', () => {
    const stepDirs = readdirSync(join(root, 'steps')).sort();
    expect(stepDirs.map((dir) => `steps/${dir}`)).toEqual([...new Set(steps.flatMap((s) => s.dirs))].sort());
    const withProbes = stepDirs.filter((dir) => existsSync(join(root, 'steps', dir, 'expected-probes.txt')));
    expect(withProbes).toEqual(probed.map((s) => gridStep(s.dirs)));
  });
});
