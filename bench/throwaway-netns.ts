// Runs a benchmark's measuring part inside a network namespace of its own, created for the run and deleted after
// it (also on SIGINT/SIGTERM/SIGHUP and on errors). The benchmark re-executes itself there with `ip netns exec`,
// so nft runs as the agent runs it (`nft -j -f FILE`, no wrapper entering the namespace on every call) and the
// timings hold no cost the agent would not pay.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

const INSIDE_ENV = 'BULKHEAD_BENCH_NETNS';

/**
 * In the benchmark's own process: creates the namespace, runs this same script inside it, and returns what the
 * inner run's `work` returned (as JSON). In the inner run: calls `work` with the namespace's name, writes its
 * result and exits, so the call never returns there.
 */
export async function inThrowawayNetns<T>(label: string, work: (netns: string) => Promise<T>): Promise<T> {
  const inside = process.env[INSIDE_ENV];
  if (inside !== undefined) {
    const result = await work(inside);
    process.stdout.write(JSON.stringify(result));
    process.exit(0);
  }
  const script = process.argv[1];
  if (script === undefined) throw new Error('inThrowawayNetns: no script path in process.argv');
  const netns = `bhbench-${label}-${randomBytes(3).toString('hex')}`;
  const removeNetns = (): void => {
    if (existsSync(`/run/netns/${netns}`)) spawnSync('ip', ['netns', 'delete', netns]);
  };
  const created = spawnSync('ip', ['netns', 'add', netns], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`ip netns add ${netns}: ${created.stderr.trim()}`);

  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, [INSIDE_ENV]: netns },
  });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    removeNetns();
    for (const s of signals) process.off(s, onSignal);
    process.kill(process.pid, signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  process.on('exit', removeNetns);
  try {
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (exit.code !== 0) throw new Error(`the run inside ${netns} failed (${exit.signal ?? `exit ${exit.code}`})`);
    return JSON.parse(Buffer.concat(output).toString('utf8')) as T;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', removeNetns);
    removeNetns();
  }
}
