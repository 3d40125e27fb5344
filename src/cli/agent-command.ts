// `bulkhead agent`: the per-node enforcer, as a command. Its own module so that the other commands never load
// the agent's dependencies (logger, nft runner, watch layer).
import type { Command } from 'commander';
import { UsageError } from './args.js';

export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('enforce the policies on this node with nftables (cluster state from a manifests directory)')
    .requiredOption('--node-name <name>', 'this node\'s name: pods with this spec.nodeName are local', process.env.NODE_NAME)
    .requiredOption('--manifests <dir>', 'directory of manifests holding the cluster state; reloaded on change')
    .option('--cni-results <dir>', 'libcni result cache: which host veth belongs to which pod', '/var/lib/cni/results')
    .option('--debounce-ms <ms>', 'quiet time before a sync, so a burst of changes is one transaction', toInteger, 100)
    .option('--max-delay-ms <ms>', 'longest a burst of changes can postpone a sync', toInteger, 1000)
    .action(async (flags: { nodeName: string; manifests: string; cniResults: string; debounceMs: number; maxDelayMs: number }) => {
      // Loaded on demand: the agent's dependencies (logger, nft runner) are not needed by the other commands.
      const { runAgent } = await import('../agent/index.js');
      await runAgent({
        nodeName: flags.nodeName,
        manifestsDir: flags.manifests,
        cniResultsDir: flags.cniResults,
        debounceMs: flags.debounceMs,
        maxDelayMs: flags.maxDelayMs,
      });
    });
}

function toInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`expected a non-negative integer, got '${value}'`);
  return n;
}
