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

/**
 * nft -i says nothing after a command that succeeds, so each transaction line is followed by a line that always
 * answers and costs nothing: a word nft's parser rejects before any netlink call (a listing as sentinel would
 * fetch the whole ruleset, 100-250 ms beside a 20,000-element set). nft answers with one error line, the word
 * echoed, and a caret line; everything before that error line is the transaction's own output.
 */
const sentinelWord = (n: number) => `bulkhead-sentinel-${n}`;

/** One long-lived `nft -j -i`, fed one transaction per line. */
export interface InteractiveNft {
  /** Runs one line (a JSON transaction); its exit is 0 with no output, or 1 with what nft said. */
  run(line: string, timeoutMs: number): Promise<NftExit>;
  /** Whether the process still runs (it may have died, or been killed after a timeout). */
  alive(): boolean;
  close(): Promise<void>;
}

/**
 * Starts `nft -j -i` with stderr joined to stdout (through `sh`, so the order of error and sentinel lines holds)
 * and HOME in `homeDir`, where nft writes its line history at exit. Lines must not hold a newline.
 */
export function startInteractiveNft(nftPath: string, homeDir: string): InteractiveNft {
  const child = spawn('sh', ['-c', 'exec "$0" -j -i 2>&1', nftPath], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, HOME: homeDir },
  });
  let exited = false;
  let output = '';
  let sentinels = 0;
  let waiting: { resolve: (exit: NftExit) => void; timer: NodeJS.Timeout; word: string } | undefined;

  const finish = (exit: NftExit) => {
    const current = waiting;
    waiting = undefined;
    if (!current) return;
    clearTimeout(current.timer);
    current.resolve(exit);
  };
  const dead = (reason: string) => {
    exited = true;
    finish({ code: null, stdout: '', stderr: `${output}${reason}` });
  };

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    if (!waiting) return;
    const echoed = `\n${waiting.word}\n`;
    const at = `\n${output}`.indexOf(echoed);
    // The caret line under the echoed word ends the answer.
    if (at < 0 || output.indexOf('\n', at + echoed.length - 1) < 0) return;
    const before = output.slice(0, Math.max(0, at - 1));
    const said = before.slice(0, before.lastIndexOf('\n') + 1);
    output = '';
    finish(said.trim() === '' ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: said });
  });
  child.stdin.on('error', () => undefined);
  child.on('error', (error) => dead(`cannot run ${nftPath}: ${error.message}`));
  child.on('close', (code, signal) => dead(`${nftPath} -i ended (${signal ?? `exit ${code}`})`));

  return {
    run: (line, timeoutMs) =>
      new Promise((resolve) => {
        if (exited) {
          resolve({ code: null, stdout: '', stderr: `${nftPath} -i is not running` });
          return;
        }
        if (waiting) throw new Error('interactive nft: one line at a time');
        output = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          dead(`${nftPath} -i killed after ${timeoutMs} ms without an answer`);
        }, timeoutMs);
        const word = sentinelWord(++sentinels);
        waiting = { resolve, timer, word };
        child.stdin.write(`${line}\n${word}\n`);
      }),
    alive: () => !exited,
    close: async () => {
      if (exited) return;
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.stdin.end();
      await closed;
    },
  };
}
