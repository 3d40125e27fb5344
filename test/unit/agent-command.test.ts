import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { podCidrsFromFlannelSubnetEnv } from '../../src/agent/flannel-subnet.js';
import { addAgentCommand, type AgentFlags, agentOptionsFromFlags } from '../../src/cli/agent-command.js';

/** The flags commander hands the action for `bulkhead agent ARGS` (parsed by the real command, not run). */
function parsedFlags(args: readonly string[]): AgentFlags {
  const program = new Command('bulkhead').exitOverride();
  const agent = addAgentCommand(program).exitOverride();
  let flags: AgentFlags | undefined;
  agent.action((parsed: AgentFlags) => {
    flags = parsed;
  });
  program.parse(['agent', ...args], { from: 'user' });
  return flags!;
}

const noFlannel = () => undefined;
const flannel = (text: string) => () => text;
const options = (args: readonly string[], env: { NODE_NAME?: string; KUBECONFIG?: string } = {}, readFlannel: () => string | undefined = noFlannel) =>
  agentOptionsFromFlags(parsedFlags(args), env, readFlannel);

describe('bulkhead agent flags', () => {
  it('defaults to the in-cluster API, the node from $NODE_NAME, and the contract\'s endpoint', () => {
    expect(options([], { NODE_NAME: 'node-a' })).toEqual({
      nodeName: 'node-a',
      source: { kind: 'cluster', connection: { kind: 'in-cluster' } },
      cniResultsDir: '/var/lib/cni/results',
      debounceMs: 100,
      maxDelayMs: 1000,
      driftCheckIntervalMs: 30_000,
      http: { address: '0.0.0.0', port: 9650, explain: true },
    });
    expect(parsedFlags([])).toMatchObject({ logFormat: 'json', logLevel: 'info', unknownLocalPods: 'allow' });
  });

  it('reads a kubeconfig from --kubeconfig or $KUBECONFIG, with --context', () => {
    expect(options(['--node-name', 'n', '--kubeconfig', '/k', '--context', 'prod']).source).toEqual({
      kind: 'cluster',
      connection: { kind: 'kubeconfig', paths: ['/k'], context: 'prod' },
    });
    expect(options(['--node-name', 'n'], { KUBECONFIG: '/home/me/.kube/config' }).source).toEqual({
      kind: 'cluster',
      connection: { kind: 'kubeconfig', paths: ['/home/me/.kube/config'] },
    });
    expect(options(['--node-name', 'n'], { KUBECONFIG: '/a::/b' }).source).toEqual({ kind: 'cluster', connection: { kind: 'kubeconfig', paths: ['/a', '/b'] } });
    expect(() => options(['--node-name', 'n', '--context', 'prod'])).toThrow('--context needs a kubeconfig: give --kubeconfig or set $KUBECONFIG');
  });

  it('takes --manifests instead of the API, never both', () => {
    expect(options(['--node-name', 'n', '--manifests', '/m'], { KUBECONFIG: '/k' }).source).toEqual({ kind: 'manifests', directory: '/m' });
    expect(() => options(['--node-name', 'n', '--manifests', '/m', '--kubeconfig', '/k'])).toThrow('--manifests reads the cluster from files: it cannot be combined with --kubeconfig or --context');
    expect(() => options(['--node-name', 'n', '--manifests', '/m', '--context', 'c'])).toThrow(/cannot be combined/);
  });

  it('needs a node name', () => {
    expect(() => options([])).toThrow('--node-name is required (or $NODE_NAME)');
  });

  it('passes the endpoint flags, --no-explain-endpoint included', () => {
    expect(options(['--node-name', 'n', '--http-address', '127.0.0.1', '--http-port', '19650', '--no-explain-endpoint']).http).toEqual({
      address: '127.0.0.1',
      port: 19650,
      explain: false,
    });
  });

  it('fails closed for unknown local pods with the given CIDRs, else flannel\'s, else refuses', () => {
    expect(options(['--node-name', 'n', '--unknown-local-pods', 'drop', '--pod-cidr', '10.244.1.0/24', '--pod-cidr', 'fd00:10:244:1::/64']).unknownLocalPods).toEqual({
      podCidrs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    });
    expect(options(['--node-name', 'n', '--unknown-local-pods', 'drop'], {}, flannel('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n')).unknownLocalPods).toEqual({
      podCidrs: ['10.244.3.0/24'],
    });
    expect(() => options(['--node-name', 'n', '--unknown-local-pods', 'drop'])).toThrow(
      "--unknown-local-pods drop needs this node's pod CIDRs: give --pod-cidr, or run where flannel wrote /run/flannel/subnet.env",
    );
    expect(() => options(['--node-name', 'n', '--unknown-local-pods', 'drop'], {}, flannel('FLANNEL_MTU=1450\n'))).toThrow(
      '--unknown-local-pods drop: /run/flannel/subnet.env has neither FLANNEL_SUBNET nor FLANNEL_IPV6_SUBNET; give --pod-cidr',
    );
    expect(options(['--node-name', 'n', '--pod-cidr', '10.244.1.0/24']).unknownLocalPods).toBeUndefined();
    expect(() => parsedFlags(['--unknown-local-pods', 'block'])).toThrow(/Allowed choices are allow, drop/);
  });

  it('accepts only the known log formats and levels', () => {
    expect(parsedFlags(['--log-format', 'pretty', '--log-level', 'debug'])).toMatchObject({ logFormat: 'pretty', logLevel: 'debug' });
    expect(() => parsedFlags(['--log-format', 'xml'])).toThrow(/Allowed choices are json, pretty/);
    expect(() => parsedFlags(['--log-level', 'loud'])).toThrow(/Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  });
});

describe('podCidrsFromFlannelSubnetEnv', () => {
  it('reads both families as networks, not the bridge address flannel writes', () => {
    const text = [
      'FLANNEL_NETWORK=10.244.0.0/16',
      'FLANNEL_SUBNET=10.244.1.1/24',
      'FLANNEL_IPV6_NETWORK=fd00:10:244::/56',
      'FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64',
      'FLANNEL_MTU=1450',
      'FLANNEL_IPMASQ=true',
      '',
    ].join('\n');
    expect(podCidrsFromFlannelSubnetEnv(text)).toEqual(['10.244.1.0/24', 'fd00:10:244:1::/64']);
  });

  it('takes one family alone, quoted or exported values, and nothing from a file without subnets', () => {
    expect(podCidrsFromFlannelSubnetEnv('export FLANNEL_IPV6_SUBNET="fd00:10:244:2::1/64"\n')).toEqual(['fd00:10:244:2::/64']);
    expect(podCidrsFromFlannelSubnetEnv("FLANNEL_SUBNET='10.244.7.1/24'")).toEqual(['10.244.7.0/24']);
    expect(podCidrsFromFlannelSubnetEnv('FLANNEL_MTU=1450\n')).toEqual([]);
    expect(podCidrsFromFlannelSubnetEnv('FLANNEL_SUBNET=\n')).toEqual([]);
  });

  it('names the file and key of a value that is not a CIDR', () => {
    expect(() => podCidrsFromFlannelSubnetEnv('FLANNEL_SUBNET=10.244.1.1\n', '/run/flannel/subnet.env')).toThrow(
      '/run/flannel/subnet.env: FLANNEL_SUBNET: "10.244.1.1" is not a CIDR',
    );
  });
});
