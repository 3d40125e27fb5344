// What marks a lab as ours and lets anyone tear it down: /run/bulkhead-lab/<prefix>.json, written before the
// lab's first namespace exists, removed after its last one is gone. Namespaces starting with `bh` but without
// such a file belong to someone else and are never touched.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommandSync } from './commands.js';
import type { LabNode, LabPod, OutsideHost, ServerRecord } from './places.js';

export const STATE_ROOT = '/run/bulkhead-lab';

export interface ProcessIdentity {
  readonly pid: number;
  /** Clock ticks after boot (/proc/PID/stat field 22): a pid alone may have been reused. */
  readonly startTime: number;
}

export interface LabState {
  readonly prefix: string;
  readonly dir: string;
  readonly owner: ProcessIdentity;
  /** Left running on purpose by `lab-cli up`; only `destroyAll` (lab-cli down) removes it. */
  readonly detached: boolean;
  readonly engine?: ProcessIdentity;
  readonly nodes: readonly LabNode[];
  readonly outside?: OutsideHost;
  readonly pods: readonly LabPod[];
  readonly servers: readonly ServerRecord[];
}

export function stateFile(prefix: string): string {
  return join(STATE_ROOT, `${prefix}.json`);
}

export function writeState(state: LabState): void {
  mkdirSync(STATE_ROOT, { recursive: true });
  const file = stateFile(state.prefix);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

export function readState(prefix: string): LabState {
  return JSON.parse(readFileSync(stateFile(prefix), 'utf8')) as LabState;
}

export function listStates(): LabState[] {
  if (!existsSync(STATE_ROOT)) return [];
  return readdirSync(STATE_ROOT)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => {
      try {
        return [readState(name.slice(0, -'.json'.length))];
      } catch (error) {
        // Torn down by its owner between the listing and the reading.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    });
}

export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = Number(fields[19]);
    return Number.isFinite(startTime) ? startTime : undefined;
  } catch {
    return undefined;
  }
}

export function identify(pid: number): ProcessIdentity {
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new Error(`process ${pid} is gone`);
  return { pid, startTime };
}

export function isAlive(process: ProcessIdentity): boolean {
  return processStartTime(process.pid) === process.startTime;
}

export function labNetnsNames(prefix: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((name) => name.startsWith(`${prefix}-`));
}

/** The processes whose network namespace is one of `netnsNames` (what `ip netns pids` does, without a spawn). */
export function pidsIn(netnsNames: readonly string[]): number[] {
  const inodes = new Set<number>();
  for (const name of netnsNames) {
    try {
      inodes.add(statSync(`/run/netns/${name}`).ino);
    } catch {
      // Already deleted.
    }
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const link = readlinkSync(`/proc/${entry}/ns/net`);
      const inode = Number(/^net:\[(\d+)\]$/.exec(link)?.[1]);
      if (inodes.has(inode)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

export function signalIfAlive(process: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isAlive(process)) return;
  try {
    globalThis.process.kill(process.pid, signal);
  } catch {
    // It exited in between.
  }
}

/**
 * Removes a lab completely and synchronously (it also runs in exit handlers): kills its traffic engine and every
 * process inside its namespaces, deletes the namespaces (their veths, bridges and VXLAN devices go with them),
 * then its directory and its state file.
 */
export function teardownSync(prefix: string, engine: ProcessIdentity | undefined, dir: string): void {
  if (engine !== undefined) signalIfAlive(engine, 'SIGKILL');
  const names = labNetnsNames(prefix);
  for (const pid of pidsIn(names)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It exited in between.
    }
  }
  if (names.length > 0) {
    const deleted = runCommandSync(['ip', '-force', '-batch', '-'], names.map((name) => `netns delete ${name}`).join('\n') + '\n');
    const left = labNetnsNames(prefix);
    if (left.length > 0) {
      throw new Error(`lab ${prefix}: namespaces left after deletion: ${left.join(', ')}: ${deleted.stderr.trim()}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateFile(prefix), { force: true });
}

/**
 * Removes the lab with this prefix, or, without a prefix, every lab whose owning process has gone: leftovers of
 * crashed runs and the lab that `lab-cli up` left running. Labs of live processes are left alone.
 */
export function destroyAll(prefix?: string): string[] {
  const doomed = listStates().filter((state) => (prefix === undefined ? !isAlive(state.owner) : state.prefix === prefix));
  for (const state of doomed) teardownSync(state.prefix, state.engine, state.dir);
  return doomed.map((state) => state.prefix);
}

/** Leftovers of crashed runs only: a lab left up on purpose (detached) survives. */
export function destroyCrashedLabs(): string[] {
  const doomed = listStates().filter((state) => !state.detached && !isAlive(state.owner));
  for (const state of doomed) teardownSync(state.prefix, state.engine, state.dir);
  return doomed.map((state) => state.prefix);
}
