// The agent as a process: started by `bulkhead agent`, stopped by SIGTERM or SIGINT. Stopping leaves the rules
// in the kernel: a restarting agent replaces them in one transaction, and until then they keep enforcing.
import { startAgent } from './agent.js';
import type { AgentOptions } from './options.js';

/**
 * Runs the agent until SIGTERM or SIGINT, then stops it and resolves. Rejects only on bad options.
 */
export async function runAgent(options: AgentOptions): Promise<void> {
  const agent = await startAgent(options);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await agent.stop();
}
