// Manifests in: documents, lists, kinds, workloads, pods, namespaces, duplicates, addresses, files on disk.
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POD_CIDRS,
  type LoadResult,
  loadManifests,
  type ManifestText,
  parseManifests,
  type Pod,
} from '../../src/model/index.js';

const OPTIONS = { defaultNamespace: 'default', podCidrs: DEFAULT_POD_CIDRS };
const FIXTURES = fileURLToPath(new URL('../fixtures/model/', import.meta.url));

function parse(text: string, source = 'test.yaml'): LoadResult {
  return parseManifests([{ source, text }], OPTIONS);
}

function summary(result: LoadResult) {
  return {
    namespaces: result.namespaces.map((n) => n.name),
    pods: result.pods.map((p) => `${p.namespace}/${p.name}`),
    policies: result.policies.map((p) => `${p.namespace}/${p.name}`),
  };
}

const pod = (name: string, extra = '') => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${extra}`;

describe('documents', () => {
  it('reads every document of a stream, skipping empty ones', () => {
    const result = parse(`---\n# only a comment\n---\n${pod('a')}---\n---\n${pod('b')}\n...\n`);
    expect(result.errors).toEqual([]);
    expect(summary(result).pods).toEqual(['default/a', 'default/b']);
  });

  it('reads JSON, which is YAML', () => {
    const result = parse(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j' } }), 'pod.json');
    expect(summary(result).pods).toEqual(['default/j']);
  });

  it('reports a YAML syntax error with its line, and still reads the other documents', () => {
    const text = `${pod('before')}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [broken\n  labels: {}\n---\n${pod('after')}`;
    const result = parse(text, 'pods.yaml');
    expect(summary(result).pods).toEqual(['default/after', 'default/before']);
    expect(result.errors).toEqual([
      {
        object: 'file pods.yaml',
        field: '',
        message: expect.stringMatching(/^document 2: YAML syntax error: .* at line 10, column \d+$/),
        source: 'pods.yaml',
      },
    ]);
  });

  it('reports duplicate keys, as kubectl does', () => {
    const result = parse(`${pod('p')}metadata:\n  name: q\n`);
    expect(result.errors[0]?.message).toMatch(/^document 1: YAML syntax error: Map keys must be unique at line 5/);
  });

  it.each([
    ['a list', '- a\n- b\n', 'not a Kubernetes object: expected a mapping with apiVersion and kind, got a list'],
    ['a scalar', 'hello\n', 'not a Kubernetes object: expected a mapping with apiVersion and kind, got a string'],
    ['a mapping without kind', 'apiVersion: v1\nmetadata: {name: x}\n', 'not a Kubernetes object: it has no kind'],
    ['an empty kind', 'kind: ""\n', 'not a Kubernetes object: it has no kind'],
  ])('reports a document that is %s', (_name, text, message) => {
    const result = parse(`${pod('ok')}---\n\n${text}`);
    expect(result.errors).toEqual([{ object: 'file test.yaml', field: '', message: `document 2 (line 7): ${message}`, source: 'test.yaml' }]);
    expect(summary(result).pods).toEqual(['default/ok']);
  });

  it('reads YAML 1.1 as kubectl does: a bare `on` is a boolean, so it is no label value', () => {
    const result = parse(pod('p', '  labels:\n    enabled: on\n    quoted: "on"\n'));
    expect(result.pods).toEqual([]);
    expect(result.errors).toEqual([
      {
        object: 'Pod default/p',
        field: 'metadata.labels',
        message: 'Invalid value: true: label "enabled" must be a string, not a boolean (quote it in YAML)',
        source: 'test.yaml',
      },
    ]);
  });

  it('reads timestamps and 1:30 as strings, as go-yaml v2 leaves them', () => {
    const result = parse(pod('p', '  annotations:\n    reviewed: 2025-01-15\n    window: 1:30\n'));
    expect(result.errors).toEqual([]);
  });

  it('follows YAML anchors and merge keys within a document', () => {
    const text = `
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: a, labels: &common {app: web}}}
  - {apiVersion: v1, kind: Pod, metadata: {name: b, labels: {<<: *common, tier: front}}}
`;
    expect(parse(text).pods.map((p) => p.labels)).toEqual([{ app: 'web' }, { app: 'web', tier: 'front' }]);
  });

  it('reads a bare `n` as false, as kubectl does (the Norway problem)', () => {
    const result = parse('apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n');
    expect(result.errors.map((e) => [e.field, e.message])).toEqual([['metadata.name', 'Invalid value: false: must be a string']]);
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${'abcdefghij'[i]}: &${'abcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(',')}]`);
    const result = parse(`${bomb.join('\n')}\n`);
    expect(result.errors).toEqual([
      { object: 'file test.yaml', field: '', message: expect.stringMatching(/^document 1: .*alias/i), source: 'test.yaml' },
    ]);
  });
});

describe('lists', () => {
  it('expands kind: List to its items', () => {
    const text = `
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
  - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: team-a}}
  - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny, namespace: team-a}, spec: {podSelector: {}}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
`;
    const result = parse(text);
    expect(result.errors).toEqual([]);
    expect(summary(result)).toEqual({ namespaces: ['team-a'], pods: ['team-a/p'], policies: ['team-a/deny'] });
    expect(result.namespaces[0]?.implicit).toBe(false);
  });

  it('gives the items of a typed list its kind and apiVersion when they have none, as the API returns them', () => {
    const text = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
  - metadata: {name: one, namespace: a}
    spec: {podSelector: {}}
  - metadata: {name: two, namespace: b}
    spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: v1
kind: PodList
items:
  - metadata: {name: p, namespace: a}
    status: {podIP: 10.1.2.3}
`;
    const result = parse(text);
    expect(result.errors).toEqual([]);
    expect(summary(result)).toEqual({ namespaces: ['a', 'b'], pods: ['a/p'], policies: ['a/one', 'b/two'] });
  });

  it('expands lists inside lists', () => {
    const text = `
kind: List
apiVersion: v1
items:
  - kind: PodList
    apiVersion: v1
    items:
      - metadata: {name: inner}
`;
    expect(summary(parse(text)).pods).toEqual(['default/inner']);
  });

  it('reads an empty or itemless list as nothing', () => {
    const result = parse('apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: PodList\n');
    expect(result).toMatchObject({ errors: [], pods: [] });
  });

  it('reports garbage items at their index, and keeps the good ones', () => {
    const text = `
kind: List
apiVersion: v1
items:
  - {apiVersion: v1, kind: Pod, metadata: {name: good}}
  - just a string
  - kind: List
    items: [{noKind: true}]
`;
    const result = parse(text);
    expect(summary(result).pods).toEqual(['default/good']);
    expect(result.errors).toEqual([
      {
        object: 'file test.yaml',
        field: 'items[1]',
        message: 'document 1 (line 2): not a Kubernetes object: expected a mapping with apiVersion and kind, got a string',
        source: 'test.yaml',
      },
      { object: 'file test.yaml', field: 'items[2].items[0]', message: 'document 1 (line 2): not a Kubernetes object: it has no kind', source: 'test.yaml' },
    ]);
  });

  it('reports items that are not a list', () => {
    const result = parse('kind: List\napiVersion: v1\nitems: {a: 1}\n');
    expect(result.errors.map((e) => e.message)).toEqual(['document 1 (line 1): List.items must be a list, not a mapping']);
  });
});

describe('kinds', () => {
  it('skips kinds that are not ours without a word', () => {
    const text = [
      'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}',
      'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: x}',
      'apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: not-apps}',
      'apiVersion: example.com/v1\nkind: Pod\nmetadata: {name: not-core}',
    ].join('\n---\n');
    expect(parse(text)).toEqual({ namespaces: [], pods: [], policies: [], errors: [], warnings: [] });
  });

  it('rejects a Pod of a version the core group does not have', () => {
    const result = parse('apiVersion: v2\nkind: Pod\nmetadata: {name: p}\n');
    expect(result.pods).toEqual([]);
    expect(result.errors).toEqual([
      { object: 'Pod default/p', field: 'apiVersion', message: 'Unsupported value: "v2": supported values: "v1"', source: 'test.yaml' },
    ]);
  });

  it('rejects one of our kinds without apiVersion', () => {
    const result = parse('kind: Namespace\nmetadata: {name: team}\n');
    expect(result.errors).toEqual([{ object: 'Namespace team', field: 'apiVersion', message: 'Required value', source: 'test.yaml' }]);
    expect(result.namespaces).toEqual([]);
  });
});

describe('workloads', () => {
  const podSpec = `
      hostNetwork: HOST
      containers:
        - name: app
          ports:
            - {name: http, containerPort: 8080}
            - {containerPort: 9090, protocol: UDP}
        - name: sidecar
          ports:
            - {name: metrics, containerPort: 9100, protocol: SCTP}
        - name: no-ports`;
  const template = (host: boolean) => `    metadata:\n      labels: {app: web, tier: front}\n    spec:${podSpec.replace('HOST', String(host))}\n`;
  const expectedPod = (kind: string, hostNetwork = false) => ({
    namespace: 'prod',
    name: 'web',
    workload: `${kind}/web`,
    labels: { app: web, tier: 'front' },
    hostNetwork,
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { containerPort: 9090, protocol: 'UDP' },
      { name: 'metrics', containerPort: 9100, protocol: 'SCTP' },
    ],
  });
  const web = 'web';

  it.each([
    ['Deployment', 'apps/v1'],
    ['StatefulSet', 'apps/v1'],
    ['DaemonSet', 'apps/v1'],
    ['ReplicaSet', 'apps/v1'],
    ['Job', 'batch/v1'],
  ])('a %s is one pod of its template', (kind, apiVersion) => {
    const result = parse(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n${template(false)}`);
    expect(result.errors).toEqual([]);
    expect(result.pods).toEqual([{ ...expectedPod(kind), ips: ['10.244.0.10', 'fd00:10:244::a'] }]);
  });

  it('a CronJob is one pod of its job template', () => {
    const jobTemplate = template(true).replace(/^/gm, '    ');
    const result = parse(
      `apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web, namespace: prod}\nspec:\n  schedule: "@hourly"\n  jobTemplate:\n    spec:\n      template:\n${jobTemplate}`,
    );
    expect(result.errors).toEqual([]);
    expect(result.pods).toEqual([{ ...expectedPod('CronJob', true), ips: ['172.18.0.10', 'fd00:172:18::a'] }]);
  });

  it('accepts any version of the right group', () => {
    expect(summary(parse(`apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n${template(false)}`)).pods).toEqual([
      'prod/web',
    ]);
  });

  it.each([
    ['Deployment', 'apps/v1', 'spec: {replicas: 1}', 'spec.template'],
    ['Deployment', 'apps/v1', '', 'spec'],
    ['CronJob', 'batch/v1', 'spec: {jobTemplate: {spec: {}}}', 'spec.jobTemplate.spec.template'],
  ])('reports a %s without a template', (kind, apiVersion, spec, field) => {
    const result = parse(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: w}\n${spec}\n`);
    expect(result.pods).toEqual([]);
    expect(result.errors).toEqual([{ object: `${kind} default/w`, field, message: 'Required value', source: 'test.yaml' }]);
  });

  it('reports bad template labels at their path', () => {
    const result = parse('apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {labels: {app: "a b"}}\n');
    expect(result.errors.map((e) => [e.object, e.field])).toEqual([['DaemonSet default/d', 'spec.template.metadata.labels']]);
    expect(result.pods).toEqual([]);
  });

  it('reports bad template ports at their path, keeping the pod', () => {
    const result = parse(
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{ports: [{containerPort: 0}]}]\n',
    );
    expect(result.errors.map((e) => [e.object, e.field, e.message])).toEqual([
      ['CronJob default/c', 'spec.jobTemplate.spec.template.spec.containers[0].ports[0].containerPort', 'Required value'],
    ]);
    expect(result.pods.map((p) => [p.name, p.ports])).toEqual([['c', []]]);
  });
});

describe('pods', () => {
  it('keeps given addresses, canonical, podIPs over podIP', () => {
    const result = parse(
      [
        pod('dual', 'status:\n  podIP: 10.1.0.5\n  podIPs: [{ip: 10.1.0.5}, {ip: "FD00:0::5"}]\n'),
        pod('single', 'status:\n  podIP: 10.1.0.6\n'),
      ].join('---\n'),
    );
    expect(result.errors).toEqual([]);
    expect(result.pods.map((p) => [p.name, p.ips])).toEqual([
      ['dual', ['10.1.0.5', 'fd00::5']],
      ['single', ['10.1.0.6']],
    ]);
  });

  it('reads nodeName, hostNetwork, labels and ports', () => {
    const result = parse(
      pod(
        'p',
        '  namespace: kube-system\n  labels: {k8s-app: kube-dns}\nspec:\n  nodeName: node-1\n  hostNetwork: false\n  containers:\n    - ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]\n',
      ),
    );
    expect(result.pods).toEqual([
      {
        namespace: 'kube-system',
        name: 'p',
        labels: { 'k8s-app': 'kube-dns' },
        ips: ['10.244.0.10', 'fd00:10:244::a'],
        hostNetwork: false,
        nodeName: 'node-1',
        ports: [
          { name: 'dns', containerPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
        ],
      },
    ]);
  });

  it.each([
    ['an invalid name', 'apiVersion: v1\nkind: Pod\nmetadata: {name: My_Pod}\n', 'Pod default/My_Pod', 'metadata.name', /^Invalid value: "My_Pod": a lowercase RFC 1123 subdomain/],
    ['no name', 'apiVersion: v1\nkind: Pod\nmetadata: {labels: {a: b}}\n', 'Pod default/?', 'metadata.name', /^Required value/],
    ['an invalid label', pod('p', '  labels: {"-a": b}\n'), 'Pod default/p', 'metadata.labels', /^Invalid value: "-a"/],
    ['an invalid pod IP', pod('p', 'status: {podIP: 10.0.0.256}\n'), 'Pod default/p', 'status.podIP', /^Invalid value: "10.0.0.256": must be a valid IP address/],
    ['two IPs of a family', pod('p', 'status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}\n'), 'Pod default/p', 'status.podIPs[1].ip', /may specify no more than one IP for each IP family/],
    ['an invalid nodeName', pod('p', 'spec: {nodeName: Node_1}\n'), 'Pod default/p', 'spec.nodeName', /^Invalid value: "Node_1"/],
    ['hostNetwork not a boolean', pod('p', 'spec: {hostNetwork: "yes"}\n'), 'Pod default/p', 'spec.hostNetwork', /^Invalid value: "yes": must be a boolean, not a string$/],
  ])('drops a pod with %s', (_name, text, object, field, message) => {
    const result = parse(text);
    expect(result.pods).toEqual([]);
    expect(result.errors).toEqual([{ object, field, message: expect.stringMatching(message), source: 'test.yaml' }]);
  });

  it('keeps a pod whose only problem is a port, without that port', () => {
    const text = pod(
      'p',
      'spec:\n  containers:\n    - ports:\n      - {name: http, containerPort: 80}\n      - {name: HTTP, containerPort: 81}\n      - {name: http, containerPort: 82}\n      - {containerPort: 70000}\n      - {containerPort: 83, protocol: tcp}\n      - {containerPort: 84, protocol: ""}\n      - {name: "8080", containerPort: 85}\n',
    );
    const result = parse(text);
    expect(result.pods.map((p) => p.ports)).toEqual([
      [
        { name: 'http', containerPort: 80, protocol: 'TCP' },
        { containerPort: 84, protocol: 'TCP' },
      ],
    ]);
    expect(result.errors.map((e) => [e.field, e.message])).toEqual([
      ['spec.containers[0].ports[1].name', 'Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
      ['spec.containers[0].ports[1].name', 'Invalid value: "HTTP": must contain at least one letter (a-z)'],
      ['spec.containers[0].ports[2].name', 'Duplicate value: "http"'],
      ['spec.containers[0].ports[3].containerPort', 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
      ['spec.containers[0].ports[4].protocol', 'Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"'],
      ['spec.containers[0].ports[6].name', 'Invalid value: "8080": must contain at least one letter (a-z)'],
    ]);
  });

  it('warns when two containers name a port alike (the API allows it)', () => {
    const result = parse(pod('p', 'spec:\n  containers:\n    - ports: [{name: http, containerPort: 80}]\n    - ports: [{name: http, containerPort: 8080}]\n'));
    expect(result.errors).toEqual([]);
    expect(result.pods[0]?.ports).toHaveLength(2);
    expect(result.warnings.map((w) => [w.field, w.message])).toEqual([
      ['spec.containers[1].ports[0].name', 'port name "http" is also used by containers[0]: a policy naming it matches both'],
    ]);
  });
});

describe('namespaces', () => {
  it('puts objects without a namespace in the default one, and makes the namespaces they live in', () => {
    const result = parseManifests([{ source: 'a.yaml', text: `${pod('p')}---\n${pod('q', '  namespace: other\n')}` }], {
      ...OPTIONS,
      defaultNamespace: 'team',
    });
    expect(result.namespaces).toEqual([
      { name: 'other', labels: { 'kubernetes.io/metadata.name': 'other' }, implicit: true },
      { name: 'team', labels: { 'kubernetes.io/metadata.name': 'team' }, implicit: true },
    ]);
  });

  it('labels given namespaces with their name, over a user value, as the API server does', () => {
    const result = parse('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n  labels: {env: prod, kubernetes.io/metadata.name: wrong}\n');
    expect(result.namespaces).toEqual([{ name: 'prod', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'prod' }, implicit: false }]);
    expect(result.warnings).toEqual([
      {
        object: 'Namespace prod',
        field: 'metadata.labels',
        message: 'label kubernetes.io/metadata.name=wrong is replaced by prod, as the API server does',
        source: 'test.yaml',
      },
    ]);
  });

  it('ignores metadata.namespace of a Namespace', () => {
    expect(summary(parse('apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n')).namespaces).toEqual(['a']);
  });

  it.each([
    ['with dots', 'team.a', /^Invalid value: "team.a": must not contain dots$/],
    ['in capitals', 'Team', /^Invalid value: "Team": a lowercase RFC 1123 label/],
  ])('rejects a Namespace named %s; what lives there gets an implicit one', (_name, name, message) => {
    const result = parse(`apiVersion: v1\nkind: Namespace\nmetadata: {name: "${name}"}\n---\n${pod('p', `  namespace: x\n`)}`);
    expect(result.errors).toEqual([{ object: `Namespace ${name}`, field: 'metadata.name', message: expect.stringMatching(message), source: 'test.yaml' }]);
    expect(summary(result).namespaces).toEqual(['x']);
  });

  it('stands in an implicit namespace for an invalid given one that something lives in', () => {
    const result = parse(`apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {a: "b c"}}\n---\n${pod('p', '  namespace: prod\n')}`);
    expect(result.namespaces).toEqual([{ name: 'prod', labels: { 'kubernetes.io/metadata.name': 'prod' }, implicit: true }]);
  });

  it('rejects a pod in an invalid namespace', () => {
    const result = parse(pod('p', '  namespace: Prod\n'));
    expect(result.pods).toEqual([]);
    expect(result.errors.map((e) => [e.object, e.field])).toEqual([['Pod Prod/p', 'metadata.namespace']]);
  });
});

describe('duplicates', () => {
  it('lets the later definition win, with a warning naming the earlier file', () => {
    const result = parseManifests(
      [
        { source: 'one.yaml', text: pod('p', '  labels: {v: "1"}\n') },
        { source: 'two.yaml', text: pod('p', '  labels: {v: "2"}\n') },
      ],
      OPTIONS,
    );
    expect(result.pods.map((p) => p.labels)).toEqual([{ v: '2' }]);
    expect(result.warnings).toEqual([
      { object: 'Pod default/p', field: '', message: 'defined again; this definition replaces the one in one.yaml', source: 'two.yaml' },
    ]);
  });

  it('applies to policies and namespaces too, per kind and namespace', () => {
    const policy = (namespace: string, types: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: ${namespace}}\nspec: {podSelector: {}, policyTypes: [${types}]}\n`;
    const namespace = (env: string) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {env: ${env}}}\n`;
    const result = parse([policy('a', 'Ingress'), policy('b', 'Ingress'), policy('a', 'Egress'), namespace('one'), namespace('two')].join('---\n'));
    expect(result.policies.map((p) => [p.namespace, p.policyTypes])).toEqual([
      ['a', ['egress']],
      ['b', ['ingress']],
    ]);
    expect(result.namespaces.find((n) => n.name === 'a')?.labels['env']).toBe('two');
    expect(result.warnings.map((w) => w.object)).toEqual(['NetworkPolicy a/p', 'Namespace a']);
  });

  it('keeps the earlier pod when the later definition is invalid, as kubectl apply would leave it', () => {
    const result = parse(`${pod('p', '  labels: {v: "1"}\n')}---\n${pod('p', '  labels: {v: "no good"}\n')}`);
    expect(result.pods.map((p) => p.labels)).toEqual([{ v: '1' }]);
  });

  it('warns when a Pod and a workload share a name in a namespace', () => {
    const result = parse(
      `${pod('web')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {metadata: {labels: {app: web}}}}\n`,
    );
    expect(result.pods.map((p) => p.workload)).toEqual([undefined, 'Deployment/web']);
    expect(result.warnings).toEqual([
      { object: 'Deployment default/web', field: 'metadata.name', message: 'the same name as Pod default/web: both are pod default/web here', source: 'test.yaml' },
    ]);
  });
});

describe('addresses', () => {
  const manifests: ManifestText[] = [
    { source: 'a.yaml', text: `${pod('z')}---\n${pod('given', 'status: {podIP: 10.244.0.10}\n')}` },
    { source: 'b.yaml', text: `${pod('a', '  namespace: x\n')}---\n${pod('m')}` },
  ];
  const ips = (result: LoadResult) => Object.fromEntries(result.pods.map((p: Pod) => [`${p.namespace}/${p.name}`, p.ips]));

  it('are the same for the same manifests, whatever their order', () => {
    const forward = parseManifests(manifests, OPTIONS);
    const backward = parseManifests([...manifests].reverse(), OPTIONS);
    expect(ips(forward)).toEqual({
      'default/given': ['10.244.0.10'],
      'default/m': ['10.244.0.11', 'fd00:10:244::a'],
      'default/z': ['10.244.0.12', 'fd00:10:244::b'],
      'x/a': ['10.244.0.13', 'fd00:10:244::c'],
    });
    expect(ips(backward)).toEqual(ips(forward));
  });

  it('come from the pod CIDRs given', () => {
    const result = parseManifests(manifests, { defaultNamespace: 'default', podCidrs: ['192.168.0.0/24'] });
    expect(ips(result)['default/m']).toEqual(['192.168.0.10']);
  });

  it('report a CIDR option that is no CIDR', () => {
    const result = parseManifests(manifests, { defaultNamespace: 'default', podCidrs: ['10.0.0.0/8', 'ten'], nodeCidrs: ['10.0.0.1'] });
    expect(result.errors).toEqual([
      { object: 'options', field: 'podCidrs[1]', message: 'Invalid value: "ten": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' },
      { object: 'options', field: 'nodeCidrs[0]', message: 'Invalid value: "10.0.0.1": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' },
    ]);
  });
});

describe('loadManifests', () => {
  it('reads directories recursively: .yaml, .yml and .json files, in name order', async () => {
    const result = await loadManifests([join(FIXTURES, 'tree')], OPTIONS);
    expect(result.errors).toEqual([]);
    expect(summary(result)).toEqual({
      namespaces: ['prod', 'staging'],
      pods: ['prod/db', 'prod/web'],
      policies: ['prod/allow-web-to-db', 'staging/default-deny'],
    });
    expect(result.namespaces.map((n) => [n.name, n.implicit, n.labels['env']])).toEqual([
      ['prod', false, 'production'],
      ['staging', true, undefined],
    ]);
    expect(result.pods.map((p) => [p.name, p.ips, p.workload])).toEqual([
      ['db', ['10.244.7.7'], undefined],
      ['web', ['10.244.0.10', 'fd00:10:244::a'], 'Deployment/web'],
    ]);
    expect(result.policies[0]?.source).toBe(join(FIXTURES, 'tree', 'policies', 'allow-web-to-db.yaml'));
  });

  it('reads files given by name whatever their extension, in the order given', async () => {
    const result = await loadManifests(
      [join(FIXTURES, 'tree', 'policies', 'notes.txt'), join(FIXTURES, 'tree', 'apps', 'db.json')],
      OPTIONS,
    );
    expect(summary(result).pods).toEqual(['prod/db']);
    expect(result.errors.map((e) => e.message)).toEqual(['document 1 (line 1): not a Kubernetes object: expected a mapping with apiVersion and kind, got a string']);
  });

  it('reports a broken file as errors and reads what it can', async () => {
    const result = await loadManifests([join(FIXTURES, 'broken.yaml')], OPTIONS);
    expect(summary(result)).toEqual({ namespaces: ['after-the-break', 'default'], pods: ['default/fine'], policies: [] });
    expect(result.errors).toEqual([
      {
        object: `file ${join(FIXTURES, 'broken.yaml')}`,
        field: '',
        message: expect.stringMatching(/^document 2: YAML syntax error: .* at line 10/),
        source: join(FIXTURES, 'broken.yaml'),
      },
    ]);
  });

  it('rejects a path that does not exist, naming it', async () => {
    const missing = join(FIXTURES, 'no-such-dir');
    await expect(loadManifests([join(FIXTURES, 'tree'), missing], OPTIONS)).rejects.toThrow(`${missing}: no such file or directory`);
  });

  it('reports a file that cannot be read (a dangling link) as an error, and reads the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulkhead-model-'));
    try {
      await symlink(join(dir, 'gone.yaml'), join(dir, 'a-link.yaml'));
      await writeFile(join(dir, 'b.yaml'), pod('p'));
      const result = await loadManifests([dir], OPTIONS);
      expect(summary(result).pods).toEqual(['default/p']);
      expect(result.errors).toEqual([
        { object: `file ${join(dir, 'a-link.yaml')}`, field: '', message: expect.stringMatching(/^cannot read: ENOENT/), source: join(dir, 'a-link.yaml') },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not follow linked directories, so a link cycle cannot loop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulkhead-model-'));
    try {
      await symlink(dir, join(dir, 'loop.yaml'));
      await writeFile(join(dir, 'p.yaml'), pod('p'));
      expect(summary(await loadManifests([dir], OPTIONS)).pods).toEqual(['default/p']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Root reads anything chmod forbids, so use a file the kernel itself refuses to read: /proc/self/mem gives EIO.
  it('reports an unreadable file as an error', async () => {
    const file = '/proc/self/mem';
    const result = await loadManifests([file], OPTIONS);
    expect(result.errors).toEqual([
      { object: `file ${file}`, field: '', message: expect.stringMatching(/^cannot read: E[A-Z]+/), source: file },
    ]);
  });
});
