// NetworkPolicy validation as the API server does it (ValidateNetworkPolicy), defaulting, and failing closed.
import { describe, expect, it } from 'vitest';
import { type LoadResult, type NetworkPolicy, parseManifests } from '../../src/model/index.js';

const OPTIONS = { defaultNamespace: 'default', podCidrs: ['10.244.0.0/16'] };

function policyObject(spec: unknown, metadata: unknown = { name: 'p', namespace: 'prod' }): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec };
}

function load(...objects: unknown[]): LoadResult {
  return parseManifests(
    objects.map((object, i) => ({ source: `m${i}.yaml`, text: JSON.stringify(object) })),
    OPTIONS,
  );
}

function onlyPolicy(result: LoadResult): NetworkPolicy {
  expect(result.policies).toHaveLength(1);
  return result.policies[0]!;
}

const ALL = { matchLabels: {}, matchExpressions: [] };

describe('valid policies: what they read as', () => {
  const cases: [string, unknown, Partial<NetworkPolicy>][] = [
    ['no spec at all: deny all ingress to every pod', undefined, { podSelector: ALL, policyTypes: ['ingress'], ingress: [], egress: [] }],
    [
      'podSelector {} and both policyTypes, no rules: deny all',
      { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      { podSelector: ALL, policyTypes: ['ingress', 'egress'], ingress: [], egress: [] },
    ],
    ['ingress: [] is no rule', { podSelector: {}, ingress: [] }, { policyTypes: ['ingress'], ingress: [] }],
    [
      'ingress: [{}] is one rule with all peers and ports',
      { podSelector: {}, ingress: [{}] },
      { policyTypes: ['ingress'], ingress: [{ peers: [], ports: [] }] },
    ],
    [
      'from: [] and ports: [] are all peers and ports',
      { podSelector: {}, ingress: [{ from: [], ports: [] }] },
      { ingress: [{ peers: [], ports: [] }] },
    ],
    [
      'egress rules default policyTypes to both',
      { podSelector: {}, egress: [{}] },
      { policyTypes: ['ingress', 'egress'], egress: [{ peers: [], ports: [] }] },
    ],
    ['egress: [] does not add Egress', { podSelector: {}, egress: [] }, { policyTypes: ['ingress'] }],
    ['policyTypes: [] is defaulted', { podSelector: {}, policyTypes: [], egress: [{}] }, { policyTypes: ['ingress', 'egress'] }],
    ['egress-only', { podSelector: {}, policyTypes: ['Egress'] }, { policyTypes: ['egress'] }],
    [
      'given policyTypes win over the rules present',
      { podSelector: {}, policyTypes: ['Ingress'], egress: [{}] },
      { policyTypes: ['ingress'], egress: [{ peers: [], ports: [] }] },
    ],
    [
      'ports: protocol defaults to TCP; numbers, names, ranges, UDP, SCTP, protocol alone',
      {
        podSelector: {},
        ingress: [
          {
            ports: [
              { port: 80 },
              { port: 'http', protocol: 'TCP' },
              { port: 32000, endPort: 32768 },
              { port: 53, protocol: 'UDP' },
              { port: 9, endPort: 9, protocol: 'SCTP' },
              { protocol: 'UDP' },
              {},
            ],
          },
        ],
      },
      {
        ingress: [
          {
            peers: [],
            ports: [
              { protocol: 'TCP', port: 80 },
              { protocol: 'TCP', port: 'http' },
              { protocol: 'TCP', port: 32000, endPort: 32768 },
              { protocol: 'UDP', port: 53 },
              { protocol: 'SCTP', port: 9, endPort: 9 },
              { protocol: 'UDP' },
              { protocol: 'TCP' },
            ],
          },
        ],
      },
    ],
    [
      'peers: pods, namespaces, both (one peer, AND), ipBlock',
      {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: 'web' } } },
              { namespaceSelector: {} },
              { namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchExpressions: [{ key: 'x', operator: 'Exists' }] } },
              { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
              { ipBlock: { cidr: 'FD00::/48' } },
            ],
          },
        ],
      },
      {
        podSelector: { matchLabels: { app: 'db' }, matchExpressions: [] },
        ingress: [
          {
            ports: [],
            peers: [
              { kind: 'pods', podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] } },
              { kind: 'pods', namespaceSelector: ALL },
              {
                kind: 'pods',
                namespaceSelector: { matchLabels: { team: 'a' }, matchExpressions: [] },
                podSelector: { matchLabels: {}, matchExpressions: [{ key: 'x', operator: 'Exists', values: [] }] },
              },
              { kind: 'ipBlock', ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
              { kind: 'ipBlock', ipBlock: { cidr: 'fd00::/48', except: [] } },
            ],
          },
        ],
      },
    ],
    [
      'egress peers are read from `to`',
      { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 5978 }] }] },
      {
        egress: [
          { peers: [{ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.0/24', except: [] } }], ports: [{ protocol: 'TCP', port: 5978 }] },
        ],
      },
    ],
  ];

  it.each(cases)('%s', (_name, spec, expected) => {
    const result = load(policyObject(spec));
    expect(result.errors).toEqual([]);
    expect(onlyPolicy(result)).toMatchObject({ namespace: 'prod', name: 'p', errors: [], source: 'm0.yaml', ...expected });
  });

  it('keeps annotations', () => {
    const policy = onlyPolicy(load(policyObject({ podSelector: {} }, { name: 'p', annotations: { owner: 'platform-team' } })));
    expect(policy.annotations).toEqual({ owner: 'platform-team' });
    expect(policy.namespace).toBe('default');
  });
});

describe('invalid policies: the API server errors, with their field paths', () => {
  type Expected = [field: string, message: string | RegExp][];
  const cases: [string, unknown, Expected][] = [
    // ports (ValidateNetworkPolicyPort)
    ['port 0', { ingress: [{ ports: [{ port: 0 }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive']]],
    ['port 65536', { egress: [{ ports: [{ port: 65536 }] }] }, [['spec.egress[0].ports[0].port', 'Invalid value: 65536: must be between 1 and 65535, inclusive']]],
    ['a quoted number is a port name, and not a valid one', { ingress: [{ ports: [{ port: '80' }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: "80": must contain at least one letter (a-z)']]],
    [
      'an uppercase port name',
      { ingress: [{ ports: [{}, { port: 'HTTP' }] }] },
      [
        ['spec.ingress[0].ports[1].port', 'Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
        ['spec.ingress[0].ports[1].port', 'Invalid value: "HTTP": must contain at least one letter (a-z)'],
      ],
    ],
    ['a port name longer than 15', { ingress: [{ ports: [{ port: 'metrics-endpoint' }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: "metrics-endpoint": must be no more than 15 characters']]],
    ['a port name with a double hyphen', { ingress: [{ ports: [{ port: 'http--alt' }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: "http--alt": must not contain consecutive hyphens']]],
    ['endPort below port', { ingress: [{ ports: [{ port: 100, endPort: 99 }] }] }, [['spec.ingress[0].ports[0].endPort', 'Invalid value: 99: must be greater than or equal to `port`']]],
    ['endPort above 65535', { ingress: [{ ports: [{ port: 100, endPort: 70000 }] }] }, [['spec.ingress[0].ports[0].endPort', 'Invalid value: 70000: must be between 1 and 65535, inclusive']]],
    ['endPort with a named port', { ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, [['spec.ingress[0].ports[0].endPort', 'Invalid value: 90: may not be specified when `port` is non-numeric']]],
    ['endPort without port', { ingress: [{ ports: [{ endPort: 90 }] }] }, [['spec.ingress[0].ports[0].endPort', 'Invalid value: 90: may not be specified when `port` is not specified']]],
    ['a lowercase protocol', { ingress: [{ ports: [{ protocol: 'tcp', port: 80 }] }] }, [['spec.ingress[0].ports[0].protocol', 'Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"']]],
    ['ICMP', { egress: [{ ports: [{ protocol: 'ICMP' }] }] }, [['spec.egress[0].ports[0].protocol', 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"']]],
    ['an empty protocol (not defaulted, unlike a container port)', { egress: [{ ports: [{ protocol: '' }] }] }, [['spec.egress[0].ports[0].protocol', 'Unsupported value: "": supported values: "TCP", "UDP", "SCTP"']]],
    ['a port that is neither number nor name', { ingress: [{ ports: [{ port: true }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: true: must be an integer or a port name']]],
    ['a fractional port', { ingress: [{ ports: [{ port: 80.5 }] }] }, [['spec.ingress[0].ports[0].port', 'Invalid value: 80.5: must be an integer or a port name']]],
    // policyTypes
    ['a lowercase policy type', { policyTypes: ['ingress'] }, [['spec.policyTypes[0]', 'Unsupported value: "ingress": supported values: "Ingress", "Egress"']]],
    ['an unknown policy type', { policyTypes: ['Ingress', 'Both'] }, [['spec.policyTypes[1]', 'Unsupported value: "Both": supported values: "Ingress", "Egress"']]],
    ['more than two policy types', { policyTypes: ['Ingress', 'Egress', 'Ingress'] }, [['spec.policyTypes', 'Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes']]],
    ['policyTypes not a list', { policyTypes: 'Ingress' }, [['spec.policyTypes', 'Invalid value: "Ingress": must be a list, not a string']]],
    // ipBlock (ValidateIPBlock)
    ['ipBlock without cidr', { ingress: [{ from: [{ ipBlock: {} }] }] }, [['spec.ingress[0].from[0].ipBlock.cidr', 'Required value']]],
    ['ipBlock with an empty cidr', { ingress: [{ from: [{ ipBlock: { cidr: '' } }] }] }, [['spec.ingress[0].from[0].ipBlock.cidr', 'Required value']]],
    ['an invalid cidr', { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }, [['spec.egress[0].to[0].ipBlock.cidr', 'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']]],
    ['an address is not a cidr', { egress: [{ to: [{ ipBlock: { cidr: '8.8.8.8' } }] }] }, [['spec.egress[0].to[0].ipBlock.cidr', 'Invalid value: "8.8.8.8": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']]],
    ['leading zeros', { egress: [{ to: [{ ipBlock: { cidr: '010.0.0.0/8' } }] }] }, [['spec.egress[0].to[0].ipBlock.cidr', 'Invalid value: "010.0.0.0/8": must not have leading 0s in IP or prefix length']]],
    [
      'an invalid except',
      { ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/xx'] } }] }] },
      [['spec.ingress[0].from[1].ipBlock.except[1]', 'Invalid value: "10.2.0.0/xx": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']],
    ],
    [
      'an except outside the cidr',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] },
      [['spec.ingress[0].from[0].ipBlock.except[0]', 'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`']],
    ],
    [
      'an except equal to the cidr',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] },
      [['spec.ingress[0].from[0].ipBlock.except[0]', 'Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`']],
    ],
    [
      'an except wider than the cidr',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.1.0.0/16', except: ['10.0.0.0/8'] } }] }] },
      [['spec.ingress[0].from[0].ipBlock.except[0]', 'Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`']],
    ],
    [
      'an except of the other family',
      { ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['::/1'] } }] }] },
      [['spec.ingress[0].from[0].ipBlock.except[0]', 'Invalid value: "::/1": must be a strict subset of `cidr`']],
    ],
    // peers (ValidateNetworkPolicyPeer)
    ['an empty peer', { ingress: [{ from: [{}] }] }, [['spec.ingress[0].from[0]', 'Required value: must specify a peer']]],
    ['a peer whose selector is null', { egress: [{ to: [{ podSelector: null }] }] }, [['spec.egress[0].to[0]', 'Required value: must specify a peer']]],
    [
      'ipBlock with a podSelector',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      [['spec.ingress[0].from[0]', 'Forbidden: may not specify both ipBlock and another peer']],
    ],
    [
      'ipBlock with a namespaceSelector',
      { egress: [{ to: [{}, { ipBlock: { cidr: '10.0.0.0/8' }, namespaceSelector: {} }] }] },
      [
        ['spec.egress[0].to[0]', 'Required value: must specify a peer'],
        ['spec.egress[0].to[1]', 'Forbidden: may not specify both ipBlock and another peer'],
      ],
    ],
    [
      'a bad peer selector',
      { egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] } }] }] },
      [['spec.egress[0].to[0].namespaceSelector.matchExpressions[0].operator', 'Invalid value: "Equals": not a valid selector operator']],
    ],
    [
      'a bad podSelector',
      { podSelector: { matchLabels: { app: 'my app' } } },
      [['spec.podSelector.matchLabels', /^Invalid value: "my app": a valid label must be an empty string or consist of/]],
    ],
    [
      'ports are reported before peers, as the API does',
      { ingress: [{ from: [{}], ports: [{ port: 0 }] }] },
      [
        ['spec.ingress[0].ports[0].port', 'Invalid value: 0: must be between 1 and 65535, inclusive'],
        ['spec.ingress[0].from[0]', 'Required value: must specify a peer'],
      ],
    ],
    // unknown fields (kubectl's strict field validation)
    ['a misspelt spec field', { podSelector: {}, ingres: [{}] }, [['spec.ingres', 'unknown field']]],
    ['a misspelt rule field', { ingress: [{ form: [] }] }, [['spec.ingress[0].form', 'unknown field']]],
    ['`to` in an ingress rule', { ingress: [{ to: [] }] }, [['spec.ingress[0].to', 'unknown field']]],
    ['a misspelt peer field', { ingress: [{ from: [{ podselector: {} }] }] }, [['spec.ingress[0].from[0].podselector', 'unknown field']]],
    [
      'a selector without matchLabels (mis-indented YAML)',
      { ingress: [{ from: [{ podSelector: { app: 'web' } }] }] },
      [['spec.ingress[0].from[0].podSelector.app', 'unknown field']],
    ],
    ['spec not a mapping', 'deny', [['spec', 'must be a mapping, not a string']]],
    ['rules not a list', { ingress: { from: [] } }, [['spec.ingress', 'Invalid value: {"from":[]}: must be a list, not a mapping']]],
  ];

  it.each(cases)('%s', (_name, spec, expected) => {
    const result = load(policyObject(spec));
    const errors = expected.map(([field, message]) => ({
      object: 'NetworkPolicy prod/p',
      field,
      message: typeof message === 'string' ? message : expect.stringMatching(message),
      source: 'm0.yaml',
    }));
    expect(result.errors).toEqual(errors);
    expect(onlyPolicy(result).errors).toEqual(errors);
  });

  it.each([
    ['an invalid name', { name: 'Allow_DB', namespace: 'prod' }, 'NetworkPolicy prod/Allow_DB', 'metadata.name', /^Invalid value: "Allow_DB": a lowercase RFC 1123 subdomain/],
    ['an invalid namespace', { name: 'p', namespace: 'Prod' }, 'NetworkPolicy Prod/p', 'metadata.namespace', /^Invalid value: "Prod": a lowercase RFC 1123 label/],
    ['a missing name', { namespace: 'prod' }, 'NetworkPolicy prod/unnamed-1', 'metadata.name', /^Required value: name or generateName is required$/],
    ['an invalid label', { name: 'p', namespace: 'prod', labels: { 'a/b/c': 'x' } }, 'NetworkPolicy prod/p', 'metadata.labels', /^Invalid value: "a\/b\/c": a qualified name/],
    ['an invalid annotation key', { name: 'p', namespace: 'prod', annotations: { 'bad key': 'x' } }, 'NetworkPolicy prod/p', 'metadata.annotations', /^Invalid value: "bad key"/],
  ])('metadata: %s', (_name, metadata, object, field, message) => {
    const result = load(policyObject({ podSelector: {} }, metadata));
    expect(result.errors).toEqual([{ object, field, message: expect.stringMatching(message), source: 'm0.yaml' }]);
    expect(onlyPolicy(result).errors).toHaveLength(1);
  });

  it.each([
    ['networking.k8s.io/v1beta1', 'Unsupported value: "networking.k8s.io/v1beta1": supported values: "networking.k8s.io/v1"'],
    ['extensions/v1beta1', 'Unsupported value: "extensions/v1beta1": supported values: "networking.k8s.io/v1"'],
    [undefined, 'Required value'],
  ])('a Kubernetes NetworkPolicy of apiVersion %j is invalid and fails closed', (apiVersion, message) => {
    const result = load({ ...policyObject({ podSelector: {}, ingress: [{}] }), apiVersion });
    expect(result.errors).toEqual([{ object: 'NetworkPolicy prod/p', field: 'apiVersion', message, source: 'm0.yaml' }]);
    expect(onlyPolicy(result)).toMatchObject({ ingress: [], policyTypes: ['ingress'] });
  });

  it('ignores a NetworkPolicy of another API group (Calico), with a warning', () => {
    const result = load({ ...policyObject({ selector: 'all()' }), apiVersion: 'projectcalico.org/v3' });
    expect(result.errors).toEqual([]);
    expect(result.policies).toEqual([]);
    expect(result.warnings).toEqual([
      {
        object: 'NetworkPolicy prod/p',
        field: 'apiVersion',
        message: 'a NetworkPolicy of projectcalico.org/v3 is not a Kubernetes NetworkPolicy (networking.k8s.io/v1); Bulkhead ignores it',
        source: 'm0.yaml',
      },
    ]);
  });

  it('reports unknown top-level fields', () => {
    const result = load({ ...policyObject({}), specs: {} });
    expect(result.errors.map((e) => [e.field, e.message])).toEqual([['specs', 'unknown field']]);
  });
});

describe('failing closed', () => {
  it('keeps a readable podSelector and policyTypes, and allows nothing', () => {
    const policy = onlyPolicy(
      load(
        policyObject({
          podSelector: { matchLabels: { app: 'db' } },
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }, { to: [{ ipBlock: { cidr: 'nope' } }] }],
        }),
      ),
    );
    expect(policy).toEqual({
      namespace: 'prod',
      name: 'p',
      podSelector: { matchLabels: { app: 'db' }, matchExpressions: [] },
      policyTypes: ['egress'],
      policyTypesDefaulted: false,
      ingress: [],
      egress: [],
      annotations: {},
      source: 'm0.yaml',
      errors: [
        {
          object: 'NetworkPolicy prod/p',
          field: 'spec.egress[1].to[0].ipBlock.cidr',
          message: 'Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
          source: 'm0.yaml',
        },
      ],
    });
  });

  it('selects every pod of its namespace when its podSelector is unreadable', () => {
    const policy = onlyPolicy(load(policyObject({ podSelector: { matchLabels: { app: '-' } }, policyTypes: ['Ingress'], ingress: [{}] })));
    expect(policy).toMatchObject({ podSelector: ALL, policyTypes: ['ingress'], ingress: [], egress: [] });
    expect(policy.errors).toHaveLength(1);
  });

  it('isolates both directions when its policyTypes are unreadable', () => {
    const policy = onlyPolicy(load(policyObject({ podSelector: {}, policyTypes: ['Ingress', 'Egres'] })));
    expect(policy.policyTypes).toEqual(['ingress', 'egress']);
  });

  it.each([
    ['absent policyTypes, broken egress rules: Egress too', { podSelector: {}, egress: [{ to: [{}] }] }, ['ingress', 'egress']],
    ['absent policyTypes, unreadable egress: Egress too', { podSelector: {}, egress: 'all' }, ['ingress', 'egress']],
    ['absent policyTypes, broken ingress, no egress: Ingress', { podSelector: {}, ingress: [{ from: [{}] }] }, ['ingress']],
    ['policyTypes readable but too many: as given', { podSelector: {}, policyTypes: ['Egress', 'Egress', 'Egress'] }, ['egress']],
  ])('defaults its policyTypes: %s', (_name, spec, policyTypes) => {
    const policy = onlyPolicy(load(policyObject(spec)));
    expect(policy.errors.length).toBeGreaterThan(0);
    expect(policy.policyTypes).toEqual(policyTypes);
    expect([policy.ingress, policy.egress]).toEqual([[], []]);
  });

  it('leaves the other objects alone', () => {
    const result = load(
      policyObject({ podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }, { name: 'bad', namespace: 'prod' }),
      policyObject({ podSelector: {}, ingress: [{}] }, { name: 'good', namespace: 'prod' }),
    );
    expect(result.policies.map((p) => [p.name, p.errors.length, p.ingress.length])).toEqual([
      ['bad', 1, 0],
      ['good', 0, 1],
    ]);
  });

  it('drops a policy with no namespace to live in, reporting why', () => {
    const result = load(policyObject({ podSelector: {} }, { name: 'p', namespace: 7 }));
    expect(result.policies).toEqual([]);
    expect(result.errors).toEqual([
      { object: 'NetworkPolicy ?/p', field: 'metadata.namespace', message: 'Invalid value: 7: must be a string', source: 'm0.yaml' },
    ]);
  });
});

describe('warnings', () => {
  const warningsOf = (spec: unknown) => load(policyObject(spec)).warnings.map((w) => [w.field, w.message]);

  it('warns of an absent podSelector, which selects every pod', () => {
    expect(warningsOf({ ingress: [{}] })).toEqual([
      ['spec.podSelector', 'absent: the policy selects every pod of its namespace (write `podSelector: {}` to say so)'],
    ]);
  });

  it('warns of a repeated policy type, which the API accepts', () => {
    const result = load(policyObject({ podSelector: {}, policyTypes: ['Egress', 'Egress'] }));
    expect(result.errors).toEqual([]);
    expect(onlyPolicy(result).policyTypes).toEqual(['egress']);
    expect(result.warnings.map((w) => [w.field, w.message])).toEqual([['spec.policyTypes[1]', 'duplicate value "Egress"']]);
  });

  it('warns of a CIDR with host bits, as the API does, and keeps it as written', () => {
    const result = load(policyObject({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/24', except: ['10.0.0.1/30'] } }] }] }));
    expect(result.errors).toEqual([]);
    expect(onlyPolicy(result).ingress[0]?.peers[0]).toEqual({ kind: 'ipBlock', ipBlock: { cidr: '10.0.0.1/24', except: ['10.0.0.1/30'] } });
    expect(result.warnings.map((w) => [w.field, w.message])).toEqual([
      ['spec.ingress[0].from[0].ipBlock.cidr', 'CIDR value "10.0.0.1/24" is ambiguous in this context (should be "10.0.0.0/24" or "10.0.0.1/32"?)'],
      ['spec.ingress[0].from[0].ipBlock.except[0]', 'CIDR value "10.0.0.1/30" is ambiguous in this context (should be "10.0.0.0/30" or "10.0.0.1/32"?)'],
    ]);
  });

  it('warns of a null rule, which Go reads as an empty rule allowing all', () => {
    const result = load(policyObject({ podSelector: {}, ingress: [null] }));
    expect(onlyPolicy(result).ingress).toEqual([{ peers: [], ports: [] }]);
    expect(result.warnings.map((w) => w.field)).toEqual(['spec.ingress[0]']);
  });
});

describe('policyTypes defaulting is recorded', () => {
  const load = (spec: string) =>
    parseManifests(
      [{ source: 'p.yaml', text: `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n${spec}` }],
      { defaultNamespace: 'default', podCidrs: ['10.244.0.0/16'] },
    ).policies[0]!;

  it('marks absent policyTypes as defaulted', () => {
    expect(load('  podSelector: {}\n  ingress: [{}]').policyTypesDefaulted).toBe(true);
  });

  it('marks given policyTypes as not defaulted', () => {
    expect(load('  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: [{}]').policyTypesDefaulted).toBe(false);
  });
});
