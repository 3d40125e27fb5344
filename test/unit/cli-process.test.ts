// The CLI as users run it: a real process, its exit code, stdout and stderr. Errors are one line, never a stack.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const THREE_TIER = join(REPO, 'examples', 'three-tier');

function bulkhead(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const scratch = mkdtempSync(join(tmpdir(), 'bulkhead-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bulkhead CLI', () => {
  it('simulates an example as JSON, the stable contract', () => {
    const run = bulkhead('simulate', '-f', join(THREE_TIER, 'pods.yaml'), '-f', join(THREE_TIER, 'steps', '02-allow-frontend-to-backend'), '-f', join(THREE_TIER, 'steps', '01-deny-ingress-to-backend'), '-o', 'json', '--probe', '8080/TCP');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { results } = JSON.parse(run.stdout) as { results: { from: string; to: string; allowed: boolean }[] };
    const to = (from: string) => results.find((r) => r.from === from && r.to === 'default/backend')?.allowed;
    expect(to('default/frontend')).toBe(true);
    expect(to('other/lookalike')).toBe(false);
  });

  it('explains a denial naming the isolating policy', () => {
    const run = bulkhead('explain', '-f', join(THREE_TIER, 'pods.yaml'), '-f', join(THREE_TIER, 'steps', '01-deny-ingress-to-backend'), 'default/frontend', 'default/backend', '8080/TCP');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('DENIED');
    expect(run.stdout).toMatch(/isolated by default\/deny-all-ingress-to-backend/);
  });

  it('lints with exit 1 on a warning, naming object, field and fix', () => {
    const file = join(scratch, 'typo.yaml');
    writeFileSync(
      file,
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: typo}\nspec:\n  podSelector: {matchLabels: {app: fronted}}\n  policyTypes: [Ingress]\n',
    );
    const run = bulkhead('lint', '-f', join(THREE_TIER, 'pods.yaml'), '-f', file);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('NetworkPolicy default/typo: spec.podSelector.matchLabels.app');
    expect(run.stdout).toContain('did you mean app: frontend?');
    expect(run.stdout).toContain('fix: ');
  });

  it('reports an invalid policy as one error line and still evaluates it, failing closed', () => {
    const file = join(scratch, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec:\n  podSelector: {matchLabels: {app: backend}}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]\n',
    );
    const run = bulkhead('explain', '-f', join(THREE_TIER, 'pods.yaml'), '-f', file, 'default/frontend', 'default/backend', '8080/TCP');
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: .*bad\.yaml: NetworkPolicy default\/bad: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.except\[0\]: .+/),
    ]);
    expect(run.stdout).toContain('DENIED');
    expect(run.stdout).toContain('NetworkPolicy default/bad is invalid');
  });

  it.each([
    [['simulate', '--bogus'], /^error: unknown option '--bogus'$/],
    [['simulate', '-f', '/nonexistent/manifests'], /^bulkhead: \/nonexistent\/manifests: no such file or directory$/],
    [['explain', '-f', THREE_TIER, 'default/frontend', 'default/backend', '99999/TCP'], /^bulkhead: invalid port '99999\/TCP'/],
    [['explain', '-f', THREE_TIER, 'default/nobody', 'default/backend', '80/TCP'], /^bulkhead: no pod default\/nobody in the given manifests/],
    [['simulate', '-f', THREE_TIER, '--to-ip', '203.0.113.10'], /^bulkhead: --to-ip needs at least one --probe/],
  ])('fails with one clear line and no stack trace: %s', (args, message) => {
    const run = bulkhead(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
