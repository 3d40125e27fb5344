// simulate, lint and explain with --cluster read the live objects through a kubeconfig and say exactly what they
// say with -f of the same objects; a cluster they cannot reach or read is one line and exit 2.
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type FakeApiServer, startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { rawPod, rawPolicy } from '../kube/objects.js';
import { servingCertificate } from '../kube/tls.js';
import { applyManifests, bulkhead, bulkheadInProcess, MAIN, REPO, runProcess } from './cli-cluster-helpers.js';

const THREE_TIER = join(REPO, 'examples', 'three-tier');
const LOCKDOWN = join(REPO, 'examples', 'production-lockdown');
const BAD_POLICY = rawPolicy('default', 'bad', {
  podSelector: { matchLabels: { app: 'backend' } },
  ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'Within', values: ['frontend'] }] } }] }],
});

// Mistakes beside the example, so that lint warns and an invalid policy is reported: a selector typo, an
// operator that does not exist.
const MISTAKES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: default}
spec:
  podSelector: {matchLabels: {app: fronted}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: default}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: Within, values: [frontend]}]}}]}]
`;

let scratch: string;
let mistakes: string;
let threeTier: FakeApiServer;
let lockdown: FakeApiServer;
let threeTierConfig: string;
let lockdownConfig: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bulkhead-cli-cluster-'));
  mistakes = join(scratch, 'mistakes.yaml');
  await writeFile(mistakes, MISTAKES);
  threeTier = await startFakeApiServer();
  await applyManifests(threeTier, [THREE_TIER, mistakes]);
  threeTierConfig = await writeKubeconfig([{ name: 'three-tier', server: threeTier.url, caCertificate: threeTier.caCertificate, token: 't' }]);
  lockdown = await startFakeApiServer();
  await applyManifests(lockdown, [LOCKDOWN]);
  lockdownConfig = await writeKubeconfig([
    { name: 'elsewhere', server: 'https://127.0.0.1:1', caCertificate: lockdown.caCertificate },
    { name: 'lockdown', server: lockdown.url, caCertificate: lockdown.caCertificate },
  ]);
});
afterAll(async () => {
  await threeTier.close();
  await lockdown.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A line's place (`error: FILE: ` or `warning: PATH: `): a file for -f, the object's API path for --cluster. */
const withoutSource = (text: string) => text.replace(/^(error|warning): [^:\s]+: /gm, '$1: ');

describe('--cluster says what -f says of the same objects', () => {
  it.each([
    ['simulate (table)', ['simulate']],
    ['simulate (json, probes, external address)', ['simulate', '-o', 'json', '--probe', '53/UDP', '--probe', '443/TCP', '--to-ip', '203.0.113.10']],
    ['explain a pod', ['explain', 'pod', 'default/backend']],
    ['explain a pod named in -n', ['explain', '-n', 'kube-system', 'pod', 'coredns']],
    ['explain a connection', ['explain', 'default/frontend', 'default/backend', '8080/TCP']],
    ['explain a connection to an IP (json)', ['explain', '-o', 'json', 'default/backend', '203.0.113.10', '443/TCP']],
    ['lint', ['lint']],
    ['lint (json)', ['lint', '-o', 'json']],
  ])('three-tier and two mistakes: %s', async (_name, args) => {
    const files = await bulkheadInProcess([...args, '-f', THREE_TIER, '-f', mistakes]);
    const cluster = await bulkheadInProcess([...args, '--cluster', '--kubeconfig', threeTierConfig]);
    expect(files.stdout).not.toBe('');
    expect(files.stdout + files.stderr).toContain('NetworkPolicy default/bad');
    expect(cluster.code).toBe(files.code);
    expect(withoutSource(cluster.stdout).replace(/"source": "[^"]*",?\n\s*/g, '')).toBe(withoutSource(files.stdout).replace(/"source": "[^"]*",?\n\s*/g, ''));
    expect(withoutSource(cluster.stderr)).toBe(withoutSource(files.stderr));
  });

  it('production-lockdown, through the named context', async () => {
    for (const args of [['simulate'], ['explain', 'pod', 'production/api'], ['lint']]) {
      const files = await bulkheadInProcess([...args, '-f', LOCKDOWN]);
      const cluster = await bulkheadInProcess([...args, '--cluster', '--kubeconfig', lockdownConfig, '--context', 'lockdown']);
      expect(files.stdout).not.toBe('');
      expect(cluster).toEqual(files);
    }
  });

  it('as a process, with the kubeconfig of $KUBECONFIG and its current context; without -f, the cluster is read', async () => {
    const env = { ...process.env, KUBECONFIG: threeTierConfig };
    const [files, cluster, implied] = await Promise.all([
      bulkhead(['simulate', '-f', THREE_TIER, '-f', mistakes]),
      bulkhead(['simulate', '--cluster'], env),
      bulkhead(['simulate'], env),
    ]);
    expect(files.stdout).toContain('frontend');
    expect(cluster.stdout).toBe(files.stdout);
    expect(cluster.code).toBe(0);
    expect(implied).toEqual(cluster);
  });

  it("takes names without a namespace in the kubeconfig context's namespace, as kubectl does; -n wins", async () => {
    const config = parse(await readFile(threeTierConfig, 'utf8')) as { contexts: { context: Record<string, string> }[] };
    config.contexts[0]!.context['namespace'] = 'kube-system';
    const path = join(scratch, 'kube-system-config');
    await writeFile(path, stringify(config));
    const bare = await bulkheadInProcess(['explain', '--kubeconfig', path, 'pod', 'coredns']);
    expect(bare.stdout).toMatch(/^Pod kube-system\/coredns\n/);
    const named = await bulkheadInProcess(['explain', '--kubeconfig', path, '-n', 'default', 'pod', 'coredns']);
    expect(named.code).toBe(2);
    expect(named.stderr.split('\n').at(-2)).toBe('bulkhead: no pod default/coredns in the cluster (expected NAMESPACE/NAME or an IP)');
  });

  it('reports an invalid policy of the cluster as a file error (object and field, at its API path) and fails it closed', async () => {
    const server = await startFakeApiServer();
    try {
      await applyManifests(server, [join(THREE_TIER, 'pods.yaml')]);
      server.create('networkpolicies', BAD_POLICY);
      const kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
      const run = await bulkhead(['explain', '--cluster', '--kubeconfig', kubeconfig, 'default/frontend', 'default/backend', '8080/TCP']);
      expect(run.code).toBe(0);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^error: \/apis\/networking\.k8s\.io\/v1\/namespaces\/default\/networkpolicies\/bad: NetworkPolicy default\/bad: spec\.ingress\[0\]\.from\[0\]\.podSelector\.matchExpressions\[0\]\.operator: .+/,
        ),
      ]);
      expect(run.stdout).toContain('DENIED');
      expect(run.stdout).toContain('NetworkPolicy default/bad is invalid');
    } finally {
      await server.close();
    }
  });

  it('takes a pod with no address yet as it is: in no verdict, explained as having none', async () => {
    const server = await startFakeApiServer();
    try {
      await applyManifests(server, [join(THREE_TIER, 'pods.yaml'), join(THREE_TIER, 'steps', '02-allow-frontend-to-backend')]);
      server.create('pods', rawPod('default', 'starting', { labels: { app: 'frontend' }, nodeName: 'node-1', ports: [{ containerPort: 80 }] }));
      const kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
      const simulate = await bulkheadInProcess(['simulate', '-o', 'json', '--kubeconfig', kubeconfig]);
      expect(simulate.code).toBe(0);
      const { results } = JSON.parse(simulate.stdout) as { results: { from: string; to: string }[] };
      expect(results.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.from === 'default/starting' || r.to === 'default/starting')).toEqual([]);
      const pod = await bulkheadInProcess(['explain', '--kubeconfig', kubeconfig, 'pod', 'default/starting']);
      expect(pod.code).toBe(0);
      expect(pod.stdout).toContain('  IPs: (none)\n');
      const lint = await bulkheadInProcess(['lint', '--kubeconfig', kubeconfig]);
      expect(lint).toEqual({ code: 0, stdout: 'no warnings\n', stderr: '' });
    } finally {
      await server.close();
    }
  });

  it('reads what the cluster holds now, not a copy: a policy deleted is gone from the next run', async () => {
    const server = await startFakeApiServer();
    try {
      await applyManifests(server, [join(THREE_TIER, 'pods.yaml'), join(THREE_TIER, 'steps', '01-deny-ingress-to-backend')]);
      const kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
      const explain = ['explain', '--cluster', '--kubeconfig', kubeconfig, 'default/frontend', 'default/backend', '8080/TCP'];
      expect((await bulkhead(explain)).stdout).toContain('DENIED');
      server.delete('networkpolicies', 'default', 'deny-all-ingress-to-backend');
      expect((await bulkhead(explain)).stdout).toContain('ALLOWED');
    } finally {
      await server.close();
    }
  });
});

describe('a cluster that cannot be read is one line and exit 2', () => {
  const expectOneLine = (run: { code: number | null; stdout: string; stderr: string }, message: RegExp) => {
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(run.code).toBe(2);
  };

  it('a context the kubeconfig does not have', async () => {
    expectOneLine(
      await bulkhead(['simulate', '--cluster', '--kubeconfig', lockdownConfig, '--context', 'prod']),
      /^bulkhead: cannot use kubeconfig .+ \(context prod\): kubeconfig .+: no context named "prod"$/,
    );
  });

  it('a kubeconfig that does not exist', async () => {
    expectOneLine(
      await bulkhead(['lint', '--cluster', '--kubeconfig', '/nonexistent/kubeconfig']),
      /^bulkhead: cannot use kubeconfig \/nonexistent\/kubeconfig: .*no such file or directory/,
    );
  });

  it('an API server that refuses connections', async () => {
    expectOneLine(
      await bulkhead(['explain', '--cluster', '--kubeconfig', lockdownConfig, '--context', 'elsewhere', 'pod', 'production/api']),
      /^bulkhead: cannot read the cluster at https:\/\/127\.0\.0\.1:1 \(kubeconfig .+ \(context elsewhere\)\): connect ECONNREFUSED 127\.0\.0\.1:1$/,
    );
  });

  it('an API server that is down (503)', async () => {
    const server = await startFakeApiServer();
    try {
      await server.setDown(true, 'unavailable');
      const kubeconfig = await writeKubeconfig([{ name: 'fake', server: server.url, caCertificate: server.caCertificate }]);
      expectOneLine(await bulkhead(['simulate', '--cluster', '--kubeconfig', kubeconfig]), /^bulkhead: cannot read the cluster at https:\/\/127\.0\.0\.1:\d+ \(kubeconfig .+\): 503 ServiceUnavailable: .+$/);
    } finally {
      await server.close();
    }
  });

  it.each([
    [401, 'Unauthorized', 'Unauthorized', /: 401 Unauthorized: Unauthorized \(the server refused this context's credentials\)$/],
    [403, 'Forbidden', 'pods is forbidden: User "viewer" cannot list resource "pods" in API group "" at the cluster scope', /: 403 Forbidden: pods is forbidden: User "viewer" cannot list resource "pods" .+$/],
  ])('credentials the API server refuses (%i)', async (code, reason, message, expected) => {
    const certificate = await servingCertificate();
    const server = createServer({ key: certificate.key, cert: certificate.cert }, (_request, response) => {
      response.writeHead(code, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const kubeconfig = await writeKubeconfig([{ name: 'fake', server: url, caCertificate: certificate.cert, token: 'expired' }]);
      expectOneLine(await bulkhead(['lint', '--cluster', '--kubeconfig', kubeconfig]), expected);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    [['simulate', '--cluster', '-f', THREE_TIER], /^error: option '--cluster' cannot be used with option '-f, --filename <path>'$/],
    [['simulate', '--kubeconfig', '/tmp/config', '-f', THREE_TIER], /^bulkhead: --kubeconfig and --context say how to reach the cluster: they do not go with -f$/],
    [['simulate', '--pod-cidr', '10.0.0.0/16'], /^bulkhead: --pod-cidr gives addresses to pods of manifests \(-f\): the pods of a cluster have their own$/],
  ])('sources that do not go together: %s', async (args, message) => {
    expectOneLine(await bulkhead(args, { ...process.env, KUBECONFIG: threeTierConfig }), message);
  });

  it('no -f and no kubeconfig: the cluster was read, and -f is suggested', async () => {
    const { KUBECONFIG: _unset, ...env } = process.env;
    expectOneLine(
      await bulkhead(['lint'], { ...env, HOME: '/nonexistent' }),
      /^bulkhead: cannot use kubeconfig \/nonexistent\/\.kube\/config: .*no such file or directory.* \(to read manifests instead, give -f PATH\)$/,
    );
  });

  it('KUBECONFIG naming several files: merged as kubectl merges them (first current-context wins, missing files skipped)', async () => {
    const args = ['simulate', '--cluster', '-o', 'json'];
    const [threeTierAlone, lockdownAlone, merged, mergedLockdown, reversed] = await Promise.all([
      bulkhead(args, { ...process.env, KUBECONFIG: threeTierConfig }),
      bulkhead([...args, '--context', 'lockdown'], { ...process.env, KUBECONFIG: lockdownConfig }),
      bulkhead(args, { ...process.env, KUBECONFIG: `/nonexistent/config:${threeTierConfig}:${lockdownConfig}` }),
      bulkhead([...args, '--context', 'lockdown'], { ...process.env, KUBECONFIG: `${threeTierConfig}:${lockdownConfig}` }),
      // lockdownConfig's current context is `elsewhere`, a server that refuses connections: it comes first now.
      bulkhead(args, { ...process.env, KUBECONFIG: `${lockdownConfig}:${threeTierConfig}` }),
    ]);
    expect(threeTierAlone.code).toBe(0);
    expect(merged).toEqual(threeTierAlone);
    expect(lockdownAlone.code).toBe(0);
    expect(mergedLockdown).toEqual(lockdownAlone);
    expectOneLine(reversed, /^bulkhead: cannot read the cluster at https:\/\/127\.0\.0\.1:1 \(kubeconfig .*\): .*ECONNREFUSED/);
    expectOneLine(
      await bulkhead(args, { ...process.env, KUBECONFIG: '/nonexistent/a:/nonexistent/b' }),
      /^bulkhead: cannot use kubeconfig \/nonexistent\/a:\/nonexistent\/b: none of the files exists: \/nonexistent\/a, \/nonexistent\/b/,
    );
  });
});

describe('as a kubectl plugin', () => {
  it('runs as kubectl-bulkhead (what kubectl runs for `kubectl bulkhead`), reading the cluster, its usage saying `kubectl bulkhead`', async () => {
    const plugin = join(scratch, 'kubectl-bulkhead');
    await symlink(MAIN, plugin);
    const env = { ...process.env, KUBECONFIG: threeTierConfig };
    const [help, explain, direct] = await Promise.all([
      runProcess(process.execPath, ['--import', 'tsx', plugin, 'explain', '--help']),
      runProcess(process.execPath, ['--import', 'tsx', plugin, 'explain', 'pod', 'default/backend'], env),
      bulkhead(['explain', 'pod', 'default/backend'], env),
    ]);
    expect(help.stdout).toMatch(/^Usage: kubectl bulkhead explain \[options\] <args\.\.\.>\n/);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('Pod default/backend\n');
    expect(explain.stdout).toBe(direct.stdout);
  });
});
