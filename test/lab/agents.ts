// Bulkhead agents in the lab's nodes: the built CLI (`bulkhead agent`) in each node's namespace, reading its
// node's CNI cache and the cluster from the lab's API server (a kubeconfig) or a manifests directory, and the
// waits that return once every agent says a state is in force.
import { fileURLToPath } from 'node:url';
import { AgentLog, readTail } from './agent-log.js';
import type { Lab, LabNode, LabProcess, ProcessExit } from './lab.js';

export const BUILT_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export type ClusterSource =
  | { readonly kind: 'api'; readonly kubeconfig: string }
  | { readonly kind: 'manifests'; readonly dir: string };

export interface AgentLaunch {
  readonly source: ClusterSource;
  /** --debounce-ms (default: the agent's). */
  readonly debounceMs?: number;
  /** Environment beyond this process's (BULKHEAD_NFT for a fault-injecting nft). */
  readonly env?: Readonly<Record<string, string>>;
  /** More `bulkhead agent` flags (`--monitor-allowed 50/second`). */
  readonly args?: readonly string[];
}

export class LabAgent {
  readonly log: AgentLog;
  exit: ProcessExit | undefined;

  private constructor(
    readonly node: LabNode,
    readonly process: LabProcess,
  ) {
    this.log = new AgentLog(process.stdoutPath);
    void process.exited.then((exit) => (this.exit = exit));
  }

  static async start(lab: Lab, node: LabNode, launch: AgentLaunch): Promise<LabAgent> {
    const source = launch.source.kind === 'api' ? ['--kubeconfig', launch.source.kubeconfig] : ['--manifests', launch.source.dir];
    const argv = [
      process.execPath,
      BUILT_CLI,
      'agent',
      '--node-name',
      node.name,
      ...source,
      '--cni-results',
      node.cniResultsDir,
      ...(launch.debounceMs === undefined ? [] : ['--debounce-ms', String(launch.debounceMs)]),
      ...(launch.args ?? []),
    ];
    const child = await lab.runInNode(node, argv, { name: 'bulkhead-agent', env: { ...process.env, ...launch.env } });
    return new LabAgent(node, child);
  }

  /** SIGKILL: no handler runs, nothing is cleaned up, as when the OOM killer or a node crash ends it. */
  async kill(): Promise<void> {
    try {
      process.kill(this.process.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.process.exited;
  }

  /** What a failure message says about this agent: its warnings and errors, its stderr, where its logs are. */
  report(): string {
    this.log.read();
    const problems = this.log.problems();
    const stderr = readTail(this.process.stderrPath);
    return [
      `  ${this.node.name}: ${this.exit ? `exited (${this.exit.signal ?? this.exit.code})` : 'running'}, in force: resourceVersion ${this.log.resourceVersion ?? '-'}, manifests ${this.log.manifestsDigest?.slice(0, 12) ?? '-'}`,
      `  warnings and errors: ${problems.length === 0 ? 'none' : `\n    ${problems.join('\n    ')}`}`,
      `  stderr: ${stderr === '' ? 'empty' : stderr}`,
      `  logs: ${this.process.stdoutPath}`,
    ].join('\n');
  }
}

/**
 * Polls the agents' logs until `done` holds for each; fails at once when one exits, and after `timeoutMs` with
 * what each agent that is behind says.
 */
export async function waitForAgents(agents: readonly LabAgent[], what: string, done: (agent: LabAgent) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const agent of agents) agent.log.read();
    const dead = agents.find((agent) => agent.exit !== undefined);
    if (dead) throw new Error(`agent on ${dead.node.name} ended while waiting for ${what}:\n${dead.report()}`);
    if (agents.every(done)) return;
    if (Date.now() > deadline) {
      const behind = agents.filter((agent) => !done(agent));
      throw new Error(`agents did not reach ${what} within ${timeoutMs} ms:\n${behind.map((agent) => agent.report()).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Until every agent has synced a state at or after `resourceVersion` (the fake server's are integers). */
export function waitForResourceVersion(agents: readonly LabAgent[], resourceVersion: number, timeoutMs?: number): Promise<void> {
  return waitForAgents(agents, `resourceVersion ${resourceVersion}`, (agent) => (agent.log.resourceVersion ?? -1) >= resourceVersion, timeoutMs);
}
