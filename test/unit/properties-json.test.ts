import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderJson, simulate } from '../../src/cli/simulate.js';
import { buildSnapshot } from '../../src/snapshot/snapshot.js';
import { EXTERNAL_IPS, clusterArbitrary } from '../support/arbitraries.js';

const PROBES = [
  { port: 80, protocol: 'TCP' as const },
  { port: 53, protocol: 'UDP' as const },
];

describe('simulate -o json', () => {
  it('round-trips: the parsed output is exactly the results, field for field, in order', () => {
    fc.assert(
      fc.property(clusterArbitrary({ maxPods: 6, maxPolicies: 4 }), fc.boolean(), (cluster, explicitProbes) => {
        const results = simulate(buildSnapshot(cluster), {
          probes: explicitProbes ? PROBES : [],
          externalIPs: explicitProbes ? EXTERNAL_IPS : [],
        });
        const parsed = JSON.parse(renderJson(results)) as { results: unknown[] };
        expect(parsed.results).toEqual(JSON.parse(JSON.stringify(results)));
        expect(renderJson(parsed.results as typeof results)).toBe(renderJson(results));
      }),
      { numRuns: 150 },
    );
  });
});
