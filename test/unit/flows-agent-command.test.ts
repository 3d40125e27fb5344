// `bulkhead agent --monitor-allowed RATE`: the compile option from the flag, and the combinations refused.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { resolveAgentOptions } from '../../src/agent/options.js';
import { addAgentCommand, type AgentFlags, agentOptionsFromFlags } from '../../src/cli/agent-command.js';

function parsedFlags(args: readonly string[]): AgentFlags {
  const program = new Command('bulkhead').exitOverride();
  const agent = addAgentCommand(program).exitOverride();
  let flags: AgentFlags | undefined;
  agent.action((parsed: AgentFlags) => {
    flags = parsed;
  });
  program.parse(['agent', '--node-name', 'node1', ...args], { from: 'user' });
  return flags!;
}
const options = (args: readonly string[]) => agentOptionsFromFlags(parsedFlags(args), {}, () => undefined);

describe('bulkhead agent --monitor-allowed', () => {
  it('is off by default, and a rate a second when given', () => {
    expect(options([])).not.toHaveProperty('monitorAllowed');
    expect(options(['--monitor-allowed', '10/second']).monitorAllowed).toEqual({ ratePerSecond: 10 });
  });

  it('refuses a rate it cannot read, and the option without the verdict stream', () => {
    expect(() => options(['--monitor-allowed', '10'])).toThrow("--monitor-allowed '10': expected a rate such as 10/second");
    expect(() => options(['--monitor-allowed', '10/second', '--no-monitor'])).toThrow(/cannot be combined with --no-monitor/);
  });

  it('the agent\'s options check the rate too', () => {
    const base = { nodeName: 'node1', source: { kind: 'manifests', directory: '/m' } } as const;
    expect(resolveAgentOptions({ ...base, monitorAllowed: { ratePerSecond: 5 } }).options?.monitorAllowed).toEqual({ ratePerSecond: 5 });
    expect(resolveAgentOptions({ ...base, monitorAllowed: { ratePerSecond: 0.5 } }).errors).toEqual(['--monitor-allowed: expected a rate such as 10/second, not 0.5 a second']);
  });
});
