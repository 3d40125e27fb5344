import { describe, expect, it } from 'vitest';
import { manifestsDigest } from '../../src/agent/index.js';

const POLICY = 'kind: NetworkPolicy\n';
const POD = 'kind: Pod\n';

describe('manifestsDigest: which manifests are in force, as a writer of the directory can compute it', () => {
  const digest = manifestsDigest('/m', new Map([['/m/pods/web.yaml', POD], ['/m/policy.yaml', POLICY]]));

  it('is SHA-256 hex', () => {
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('depends on paths relative to the directory, not on where the directory is', () => {
    expect(manifestsDigest('/elsewhere/x', new Map([['/elsewhere/x/pods/web.yaml', POD], ['/elsewhere/x/policy.yaml', POLICY]]))).toBe(digest);
  });

  it('does not depend on the order the map was filled in', () => {
    expect(manifestsDigest('/m', new Map([['/m/policy.yaml', POLICY], ['/m/pods/web.yaml', POD]]))).toBe(digest);
  });

  it('changes with a text, a path, a file more or a file less', () => {
    const others = [
      new Map([['/m/pods/web.yaml', POD], ['/m/policy.yaml', `${POLICY}# changed\n`]]),
      new Map([['/m/pods/web.yaml', POD], ['/m/policy2.yaml', POLICY]]),
      new Map([['/m/pods/web.yaml', POD], ['/m/policy.yaml', POLICY], ['/m/more.yaml', POD]]),
      new Map([['/m/pods/web.yaml', POD]]),
      new Map<string, string>(),
    ];
    const digests = others.map((accepted) => manifestsDigest('/m', accepted));
    expect(new Set([digest, ...digests]).size).toBe(others.length + 1);
  });

  it('cannot be fooled by moving text across the path boundary', () => {
    expect(manifestsDigest('/m', new Map([['/m/a', 'bc']]))).not.toBe(manifestsDigest('/m', new Map([['/m/ab', 'c']])));
  });
});
