// The one place that starts the nft binary. Everything else in nft/ works on its results.
import { spawn } from 'node:child_process';

export interface NftExit {
  /** Exit status; null when nft was killed by a signal or could not be started. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The binary to run: an explicit option, else $BULKHEAD_NFT (fault-injection wrappers), else `nft` on PATH. */
export function resolveNftPath(explicit?: string): string {
  return explicit ?? process.env['BULKHEAD_NFT'] ?? 'nft';
}

/**
 * Runs nft once with `args` and collects its output. Never rejects: a binary that cannot be started, or one
 * killed after `timeoutMs` (a netlink call stuck on the kernel's lock), is an exit with a null code and the
 * reason as stderr, so callers handle one kind of failure.
 */
export function execNft(nftPath: string, args: readonly string[], timeoutMs: number): Promise<NftExit> {
  return new Promise((resolve) => {
    const child = spawn(nftPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => resolve({ code: null, stdout: '', stderr: `cannot run ${nftPath}: ${error.message}` }));
    child.on('close', (code, signal) => {
      const err = Buffer.concat(stderr).toString('utf8');
      resolve({
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: signal ? `${err}${nftPath} killed by ${signal}` : err,
      });
    });
  });
}
