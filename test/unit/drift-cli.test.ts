// `bulkhead agent --drift-check-interval <seconds>`: parsed, defaulted, and handed to the agent in milliseconds.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addAgentCommand, type AgentFlags, agentOptionsFromFlags } from '../../src/cli/agent-command.js';

/** The agent's options for a command line, without running the agent. */
async function optionsFor(args: readonly string[]) {
  const program = new Command().exitOverride();
  let flags: AgentFlags | undefined;
  addAgentCommand(program)
    .exitOverride()
    .action((given: AgentFlags) => {
      flags = given;
    });
  await program.parseAsync(['agent', '--node-name', 'node1', '--manifests', '/tmp/none', ...args], { from: 'user' });
  if (!flags) throw new Error('the agent command did not run');
  return agentOptionsFromFlags(flags, {}, () => undefined);
}

describe('--drift-check-interval', () => {
  it('defaults to 30 seconds', async () => {
    expect((await optionsFor([])).driftCheckIntervalMs).toBe(30_000);
  });

  it('takes seconds, fractions included', async () => {
    expect((await optionsFor(['--drift-check-interval', '120'])).driftCheckIntervalMs).toBe(120_000);
    expect((await optionsFor(['--drift-check-interval', '0.25'])).driftCheckIntervalMs).toBe(250);
  });

  it('rejects what is not a positive number of seconds', async () => {
    for (const bad of ['0', '-5', 'soon', '']) {
      await expect(optionsFor(['--drift-check-interval', bad])).rejects.toThrow(`expected a positive number of seconds, got '${bad}'`);
    }
  });
});
