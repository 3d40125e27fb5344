// Reading a pod chain from `nft list chain` output: rules, absence, failures.
import { describe, expect, it } from 'vitest';
import { chainReading, chainRules } from '../../src/agent/http/kernel-rules.js';

// As nft 1.0.6 prints `nft list chain inet bulkhead pod_in_a.b-c_d-e.f` (measured in a netns).
const LISTING = `table inet bulkhead {
\tchain pod_in_a.b-c_d-e.f {
\t\tip saddr @peer4_x tcp dport 80 accept comment "NetworkPolicy a/b spec.ingress[0]"
\t\tcounter name "drop_in_a.b-c_d-e.f" drop
\t}
}
`;

describe('kernel chain readings', () => {
  it('keeps the rule lines of the chain, unindented', () => {
    expect(chainRules(LISTING)).toEqual([
      'ip saddr @peer4_x tcp dport 80 accept comment "NetworkPolicy a/b spec.ingress[0]"',
      'counter name "drop_in_a.b-c_d-e.f" drop',
    ]);
    expect(chainRules('table inet bulkhead {\n\tchain empty {\n\t}\n}\n')).toEqual([]);
  });

  it('tells a missing chain (or table) from a failure', () => {
    expect(chainReading('c', { code: 0, stdout: LISTING, stderr: '' })).toMatchObject({ kind: 'present' });
    const missing = 'Error: No such file or directory\nlist chain inet bulkhead c\n                         ^\n';
    expect(chainReading('c', { code: 1, stdout: '', stderr: missing })).toEqual({ kind: 'absent' });
    expect(chainReading('c', { code: 1, stdout: '', stderr: 'Error: Operation not permitted\n' })).toEqual({
      kind: 'error',
      message: 'cannot list chain inet bulkhead c: Error: Operation not permitted',
    });
    expect(chainReading('c', { code: null, stdout: '', stderr: 'nft killed by SIGKILL' })).toMatchObject({ kind: 'error' });
    expect(chainReading('c', { code: 0, stdout: 'table inet bulkhead {\n}\n', stderr: '' })).toMatchObject({ kind: 'error' });
  });
});
