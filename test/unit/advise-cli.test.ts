// `bulkhead advise` as users run it: a real process, its output, its warnings, its exit codes, one-line errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeApiServer } from '../kube/fake-apiserver.js';
import { writeKubeconfig } from '../kube/kubeconfig.js';
import { applyManifests, bulkheadInProcess } from './cli-cluster-helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PODS = join(REPO, 'examples', 'three-tier', 'pods.yaml');
const FLOWS = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.jsonl');
const GOLDEN = join(REPO, 'test', 'fixtures', 'flows', 'three-tier.default.yaml');

function bulkhead(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'bulkhead-advise-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bulkhead advise', () => {
  it('prints the golden proposal for the three-tier flows, with nothing to warn about', () => {
    const run = bulkhead('advise', '--namespace', 'default', '--flows', FLOWS, '-f', PODS);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('prints JSON, and with --since keeps the newest records only', () => {
    const run = bulkhead('advise', '-n', 'default', '--flows', FLOWS, '-f', PODS, '--since', '30m', '-o', 'json');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout) as { flows: { from: string; to: string }[]; policies: { metadata: { name: string } }[] };
    expect(json.flows.map((f) => `${f.from} ${f.to}`)).toEqual(['default/backend default/database', 'default/frontend default/backend']);
    expect(json.policies.map((p) => p.metadata.name)).toEqual(['default-deny', 'allow-backend', 'allow-database', 'allow-frontend']);
  });

  it('reads the objects of a live cluster with --cluster, and proposes the same', async () => {
    const server = await startFakeApiServer();
    try {
      await applyManifests(server, [PODS]);
      const kubeconfig = await writeKubeconfig([{ name: 'three-tier', server: server.url, caCertificate: server.caCertificate, token: 't' }], join(scratch, 'kubeconfig'));
      const run = await bulkheadInProcess(['advise', '-n', 'default', '--flows', FLOWS, '--cluster', '--kubeconfig', kubeconfig]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(readFileSync(GOLDEN, 'utf8'));
    } finally {
      await server.close();
    }
  });

  it('warns on stderr when it saw nothing allowed of the namespace: the proposal cuts its pods off', () => {
    const run = bulkhead('advise', '-n', 'other', '--flows', FLOWS, '-f', PODS);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'warning: no allowed flow of namespace other was observed: the proposal is a default deny alone\n' +
        'warning: pod other/lookalike: no flow observed, so the default deny cuts it off in both directions\n',
    );
    expect(run.stdout).toContain('name: default-deny');
    expect(run.stdout).not.toContain('name: allow-');
  });

  const bad = join(scratch, 'bad.jsonl');
  writeFileSync(bad, `${readFileSync(FLOWS, 'utf8').split('\n')[0]}\n{"time":"2026-11-23T21:00:00Z","node":"n","direction":"egress","from":"default/frontend","to":"default/backend","port":70000,"protocol":"TCP","verdict":"allowed","policies":[]}\n`);
  it.each([
    { name: 'a bad record, naming its line and field', args: ['-n', 'default', '--flows', bad, '-f', PODS], stderr: /^bulkhead: .*bad\.jsonl:2: port: .+\n$/ },
    { name: 'a malformed --since', args: ['-n', 'default', '--flows', FLOWS, '-f', PODS, '--since', 'an hour'], stderr: /^bulkhead: invalid --since 'an hour': expected a duration such as 90s, 30m, 1h30m or 7d\n$/ },
    { name: 'a flows file it cannot read', args: ['-n', 'default', '--flows', join(scratch, 'missing.jsonl'), '-f', PODS], stderr: /^bulkhead: cannot read --flows .*missing\.jsonl: .+\n$/ },
    { name: 'no --flows with manifests and no --agent (no cluster to find agents in)', args: ['-n', 'default', '-f', PODS], stderr: /^bulkhead: without --flows, the flows come from the agents: give --agent URL, .+\n$/ },
    { name: 'both --flows and --agent', args: ['-n', 'default', '--flows', FLOWS, '--agent', 'http://127.0.0.1:1', '-f', PODS], stderr: /^bulkhead: --flows and --agent both say where the flows come from: give one\n$/ },
    { name: 'an unknown output format', args: ['-n', 'default', '--flows', FLOWS, '-f', PODS, '-o', 'table'], stderr: /^error: option '-o, --output <format>' argument 'table' is invalid\. Allowed choices are yaml, json\.\n$/ },
    { name: 'a namespace the manifests do not know', args: ['-n', 'defualt', '--flows', FLOWS, '-f', PODS], stderr: /^bulkhead: namespace defualt: neither a Namespace nor any object of it is in the given manifests\n$/ },
  ])('refuses $name with one line and exit code 2', ({ args, stderr }) => {
    const run = bulkhead('advise', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(stderr);
    expect(run.stdout).toBe('');
  });
});
