import { describe, expect, it } from 'vitest';
import { labelKeyErrors, labelValueErrors, readLabels, readLabelSelector } from '../../src/model/labels.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from '../../src/model/names.js';
import { portNameErrors, portNumberErrors, readProtocol } from '../../src/model/ports.js';

describe('label keys (IsQualifiedName)', () => {
  it.each([
    'app',
    'A',
    '1',
    'app.kubernetes.io/name',
    'k8s-app',
    'my_key',
    'a.b-c_d',
    'example.com/MyName',
    'prometheus.io/scrape',
    `${'a'.repeat(63)}`,
    `${'a'.repeat(253)}/x`,
  ])('accepts %j', (key) => {
    expect(labelKeyErrors(key)).toEqual([]);
  });

  it.each([
    ['', 'name part must be non-empty'],
    ['-app', 'name part must consist of'],
    ['app-', 'name part must consist of'],
    ['my key', 'name part must consist of'],
    ['app/', 'name part must be non-empty'],
    ['/app', 'prefix part must be non-empty'],
    ['Example.com/app', 'prefix part a lowercase RFC 1123 subdomain'],
    ['ex_ample.com/app', 'prefix part a lowercase RFC 1123 subdomain'],
    ['a/b/c', 'a qualified name must consist of'],
    [`${'a'.repeat(64)}`, 'name part must be no more than 63 characters'],
    [`${'a'.repeat(254)}/x`, 'prefix part must be no more than 253 characters'],
  ])('rejects %j: %s', (key, message) => {
    const errors = labelKeyErrors(key);
    expect(errors.some((e) => e.startsWith(message))).toBe(true);
  });
});

describe('label values (IsValidLabelValue)', () => {
  it.each(['', 'v1', 'frontend', 'my_value', '12345', 'a.b-c_d', 'A', 'x'.repeat(63)])('accepts %j', (value) => {
    expect(labelValueErrors(value)).toEqual([]);
  });

  it.each([
    ['x'.repeat(64), 'must be no more than 63 characters'],
    ['-v', 'a valid label must be an empty string or consist of'],
    ['v-', 'a valid label must be an empty string or consist of'],
    ['a b', 'a valid label must be an empty string or consist of'],
    ['a/b', 'a valid label must be an empty string or consist of'],
    ['ünïcode', 'a valid label must be an empty string or consist of'],
  ])('rejects %j', (value, message) => {
    expect(labelValueErrors(value).some((e) => e.startsWith(message))).toBe(true);
  });
});

describe('label maps', () => {
  it('reads absent and null as empty', () => {
    expect(readLabels(undefined, 'metadata.labels')).toEqual({ value: {}, issues: [] });
    expect(readLabels(null, 'metadata.labels')).toEqual({ value: {}, issues: [] });
  });

  it('reports syntax problems at the map path, naming the key or value, as ValidateLabels does', () => {
    const read = readLabels({ 'bad key': 'ok', good: 'bad value' }, 'metadata.labels');
    expect(read.value).toBeUndefined();
    expect(read.issues).toEqual([
      { field: 'metadata.labels', message: expect.stringMatching(/^Invalid value: "bad key": name part must consist of/) },
      { field: 'metadata.labels', message: expect.stringMatching(/^Invalid value: "bad value": a valid label must be an empty string or consist of/) },
    ]);
  });

  it('rejects values that YAML did not read as strings, as kubectl cannot decode them', () => {
    const read = readLabels({ version: 1, enabled: true }, 'metadata.labels');
    expect(read.value).toBeUndefined();
    expect(read.issues).toEqual([
      { field: 'metadata.labels', message: 'Invalid value: 1: label "version" must be a string, not a number (quote it in YAML)' },
      { field: 'metadata.labels', message: 'Invalid value: true: label "enabled" must be a string, not a boolean (quote it in YAML)' },
    ]);
  });

  it('rejects a map that is not a mapping', () => {
    expect(readLabels(['app'], 'x').issues).toEqual([{ field: 'x', message: 'must be a mapping, not a list' }]);
  });
});

describe('label selectors (ValidateLabelSelector)', () => {
  const path = 'spec.podSelector';
  const valid: [string, unknown, unknown][] = [
    ['{} selects all', {}, { matchLabels: {}, matchExpressions: [] }],
    ['null is the zero value', null, { matchLabels: {}, matchExpressions: [] }],
    ['matchLabels', { matchLabels: { app: 'db' } }, { matchLabels: { app: 'db' }, matchExpressions: [] }],
    [
      'In with values',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
    ],
    [
      'NotIn with values',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] },
    ],
    [
      'Exists without values (absent values read as [])',
      { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'Exists', values: [] }] },
    ],
    [
      'DoesNotExist with empty values',
      { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist', values: [] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist', values: [] }] },
    ],
  ];
  it.each(valid)('accepts %s', (_name, raw, expected) => {
    expect(readLabelSelector(raw, path)).toEqual({ value: expected, issues: [] });
  });

  const invalid: [string, unknown, { field: string; message: RegExp }[]][] = [
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values', message: /^Required value: must be specified when `operator` is 'In' or 'NotIn'$/ }],
    ],
    [
      'NotIn with empty values',
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values', message: /^Required value/ }],
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values', message: /^Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'$/ }],
    ],
    [
      'DoesNotExist with values',
      { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values', message: /^Forbidden/ }],
    ],
    [
      'unknown operator (case matters)',
      { matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] },
      [{ field: 'spec.podSelector.matchExpressions[0].operator', message: /^Invalid value: "in": not a valid selector operator$/ }],
    ],
    [
      'bad key',
      { matchExpressions: [{ key: 'a b', operator: 'Exists' }] },
      [{ field: 'spec.podSelector.matchExpressions[0].key', message: /^Invalid value: "a b": name part/ }],
    ],
    [
      'bad value, at its index',
      { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values[1]', message: /^Invalid value: "not ok": a valid label/ }],
    ],
    [
      'bad matchLabels, at the map',
      { matchLabels: { app: 'a b' } },
      [{ field: 'spec.podSelector.matchLabels', message: /^Invalid value: "a b"/ }],
    ],
    [
      'unknown field (a selector written without matchLabels)',
      { app: 'web' },
      [{ field: 'spec.podSelector.app', message: /^unknown field$/ }],
    ],
    [
      'missing operator',
      { matchExpressions: [{ key: 'a' }] },
      [{ field: 'spec.podSelector.matchExpressions[0].operator', message: /^Required value$/ }],
    ],
    [
      'values not a list',
      { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] },
      [{ field: 'spec.podSelector.matchExpressions[0].values', message: /^Invalid value: "x": must be a list, not a string$/ }],
    ],
  ];
  it.each(invalid)('rejects %s', (_name, raw, expected) => {
    const read = readLabelSelector(raw, path);
    expect(read.value).toBeUndefined();
    expect(read.issues).toEqual(expected.map((e) => ({ field: e.field, message: expect.stringMatching(e.message) })));
  });
});

describe('object names', () => {
  it.each([
    ['prod', [], []],
    ['allow-db.v2', ['must not contain dots'], []],
    ['Prod', [expect.stringMatching(/^a lowercase RFC 1123 label/)], [expect.stringMatching(/^a lowercase RFC 1123 subdomain/)]],
    ['-x', [expect.stringMatching(/^a lowercase RFC 1123 label/)], [expect.stringMatching(/^a lowercase RFC 1123 subdomain/)]],
    ['a'.repeat(64), ['must be no more than 63 characters'], []],
  ])('%j', (name, labelErrors, subdomainErrors) => {
    expect(dns1123LabelErrors(name)).toEqual(labelErrors);
    expect(dns1123SubdomainErrors(name)).toEqual(subdomainErrors);
  });

  it('limits a subdomain to 253 characters', () => {
    expect(dns1123SubdomainErrors(`${'a.'.repeat(126)}ab`)).toEqual(['must be no more than 253 characters']);
  });
});

describe('ports', () => {
  it.each([
    [1, true],
    [65535, true],
    [0, false],
    [65536, false],
    [-1, false],
  ])('port number %d valid: %s', (port, valid) => {
    expect(portNumberErrors(port).length === 0).toBe(valid);
  });

  it.each(['http', 'metrics', 'h2c', 'dns-tcp', 'a1', 'x'.repeat(15)])('accepts port name %j', (name) => {
    expect(portNameErrors(name)).toEqual([]);
  });

  it.each([
    ['x'.repeat(16), 'must be no more than 15 characters'],
    ['HTTP', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ['my_port', 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
    ['8080', 'must contain at least one letter (a-z)'],
    ['http--alt', 'must not contain consecutive hyphens'],
    ['-http', 'must not begin or end with a hyphen'],
    ['http-', 'must not begin or end with a hyphen'],
    ['', 'must contain at least one letter (a-z)'],
  ])('rejects port name %j: %s', (name, message) => {
    expect(portNameErrors(name)).toContain(message);
  });

  it.each([
    [undefined, 'TCP'],
    [null, 'TCP'],
    ['TCP', 'TCP'],
    ['UDP', 'UDP'],
    ['SCTP', 'SCTP'],
  ])('protocol %j is %s', (raw, protocol) => {
    expect(readProtocol(raw)).toEqual({ protocol });
  });

  it.each(['tcp', 'ICMP', ''])('rejects protocol %j', (raw) => {
    expect(readProtocol(raw)).toEqual({ error: `Unsupported value: ${JSON.stringify(raw)}: supported values: "TCP", "UDP", "SCTP"` });
  });
});
