// What a benchmark figure was measured on: absolute numbers mean nothing without it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly cpus: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly nft: string;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine skews absolute figures. */
  readonly loadAverage: readonly number[];
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown cpu'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    nft: execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim(),
    node: process.version,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/** The highest resident set size this process has had (VmHWM), in MiB. */
export function peakRssMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  if (!Number.isFinite(kib)) throw new Error('/proc/self/status has no VmHWM line');
  return Math.round(kib / 1024);
}
