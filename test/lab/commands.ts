// Running the tools that build the lab (ip, bridge, nft, sysctl), each bounded in time.
import { spawn, spawnSync } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Runs argv to completion. Rejects only when it cannot start or runs past its time; a non-zero exit is a result. */
export function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runCommand: empty argv'));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')}: still running after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${file}: cannot start: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === null ? -1 : 128),
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
    // A command that exits before reading its input would otherwise surface EPIPE as an unhandled error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs argv and returns its stdout; a non-zero exit rejects with the command and its stderr. */
export async function mustRun(argv: readonly string[], options: CommandOptions = {}): Promise<string> {
  const result = await runCommand(argv, options);
  if (result.code !== 0) {
    throw new Error(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}

/** `ip -n NETNS -batch -`: many changes for the cost of one process. */
export async function ipBatch(netns: string, lines: readonly string[]): Promise<void> {
  await mustRun(['ip', '-n', netns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** `bridge -n NETNS -batch -` (fdb entries are the bridge tool's, not ip's). */
export async function bridgeBatch(netns: string, lines: readonly string[]): Promise<void> {
  await mustRun(['bridge', '-n', netns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

export async function inNetns(netns: string, argv: readonly string[], options: CommandOptions = {}): Promise<string> {
  return mustRun(['nsenter', `--net=/run/netns/${netns}`, ...argv], options);
}

/** The synchronous twin, for exit handlers, where nothing asynchronous runs any more. */
export function runCommandSync(argv: readonly string[], input = ''): CommandResult {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runCommandSync: empty argv');
  const result = spawnSync(file, args, { input, timeout: DEFAULT_TIMEOUT_MS, encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}
