// The agent as a process: started by `bulkhead agent`, stopped by SIGTERM or SIGINT. Stopping leaves the rules
// in the kernel: a restarting agent replaces them in one transaction, and until then they keep enforcing.
import { pino } from 'pino';
import { startAgent } from './agent.js';
import { type AgentHttpServer, startAgentHttpServer } from './http/index.js';
import { startMonitor } from './monitor/index.js';
import type { AgentOptions } from './options.js';

/**
 * Runs the agent, and its HTTP endpoint when `options.http` asks for one, until SIGTERM or SIGINT; then closes
 * the endpoint (probes and scrapes stop first), stops the agent and resolves. Rejects on bad options or an
 * endpoint that cannot listen.
 */
export async function runAgent(options: AgentOptions): Promise<void> {
  const logger = options.logger ?? pino();
  const agent = await startAgent({ ...options, logger });
  const monitor = options.monitor
    ? startMonitor(options.monitor, { nodeName: options.nodeName, view: () => agent.view(), registry: agent.registry, logger: logger.child({ node: options.nodeName }) })
    : undefined;
  let server: AgentHttpServer | undefined;
  if (options.http) {
    try {
      server = await startAgentHttpServer(agent, {
        ...options.http,
        ...(monitor ? { monitor: monitor.hub } : {}),
        ...(monitor?.flows ? { flows: monitor.flows } : {}),
        nodeName: options.nodeName,
        ...(options.nftPath === undefined ? {} : { nftPath: options.nftPath }),
        logger: logger.child({ node: options.nodeName }),
      });
    } catch (cause) {
      await monitor?.stop();
      await agent.stop();
      throw new Error(`bulkhead agent: cannot serve HTTP on ${options.http.address} port ${options.http.port}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // The verdict streams end first: an open stream would hold the server's close.
  monitor?.hub.close();
  await server?.close();
  await monitor?.stop();
  await agent.stop();
}
