import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyPort, Protocol } from '../../src/model/types.js';
import { policyPortAdmits, portResolutionMatches, resolvePolicyPort } from '../../src/policy/ports.js';
import { containerPort, pod } from '../support/builders.js';

const protocol = fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP');
const portNumber = fc.integer({ min: 1, max: 40 });
const portName = fc.constantFrom('http', 'dns', 'metrics');
const policyPort: fc.Arbitrary<PolicyPort> = fc.oneof(
  protocol.map((p) => ({ protocol: p })),
  fc.tuple(protocol, portNumber).map(([p, n]) => ({ protocol: p, port: n })),
  fc.tuple(protocol, portNumber, fc.integer({ min: 0, max: 10 })).map(([p, n, w]) => ({ protocol: p, port: n, endPort: n + w })),
  fc.tuple(protocol, portName).map(([p, name]) => ({ protocol: p, port: name })),
);
const destination = fc.option(
  fc.array(fc.tuple(portNumber, fc.option(portName, { nil: undefined }), protocol), { maxLength: 4 }).map((ports) =>
    pod('default/d', { ports: ports.map(([n, name, p]) => containerPort(n, name, p)) }),
  ),
  { nil: undefined },
);

describe('policyPortAdmits', () => {
  it('agrees with resolving the port and matching the resolution', () => {
    fc.assert(
      fc.property(policyPort, destination, portNumber, protocol, (pp, dest, port, proto) => {
        expect(policyPortAdmits(pp, dest, port, proto)).toBe(portResolutionMatches(resolvePolicyPort(pp, dest), port, proto));
      }),
      { numRuns: 2000 },
    );
  });
});
