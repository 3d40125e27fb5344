// The Node side of traffic.py: one long-lived process that holds every server and runs every probe of a lab.
// A probe is a line of JSON to it and a line back (well under a millisecond), where spawning
// `ip netns exec NS socat ...` costs several milliseconds and a process per server.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { existsSync, openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type Proto = 'tcp' | 'udp' | 'sctp';

/**
 * connected: TCP handshake done, a UDP reply, or an SCTP INIT-ACK.
 * refused: an answer that says no: TCP RST, ICMP unreachable of any kind, or SCTP ABORT.
 * timeout: no answer in time (dropped on the way, or a drop in the prober's own namespace).
 */
export type Outcome = 'connected' | 'refused' | 'timeout';

type Request =
  | { op: 'serve'; netns: string; proto: Proto; port: number; label: string }
  | { op: 'unserve'; netns: string; proto: Proto; port: number }
  | { op: 'peers'; netns: string; proto: Proto; port: number }
  | { op: 'probe'; netns: string; proto: Proto; dst: string; port: number; timeoutMs: number; source?: string }
  | { op: 'forget'; netns: string }
  | { op: 'linger' };

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const SCRIPT = fileURLToPath(new URL('./traffic.py', import.meta.url));
// Debian's interpreter when there is one: a pyenv shim in front of python3 costs ~180 ms a start.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** Beyond a probe's own timeout: how long the engine may take to answer before it counts as broken. */
const ANSWER_SLACK_MS = 5_000;

export class TrafficEngine {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private exited: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly stdin: Writable,
    private readonly stdout: Readable,
    readonly logPath: string,
  ) {
    createInterface({ input: stdout }).on('line', (line) => this.answered(line));
    child.on('exit', (code, signal) => {
      this.exited = `traffic engine exited (${signal ?? code}); see ${logPath}`;
      for (const waiter of this.waiters.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(this.exited));
      }
      this.waiters.clear();
    });
    stdin.on('error', () => undefined);
  }

  /** Starts the engine; its stderr goes to logPath. */
  static start(logPath: string): TrafficEngine {
    const log = openSync(logPath, 'a');
    try {
      // Its own session: a terminal's Ctrl-C reaches the owner, which cleans up; the engine ends when its stdin
      // closes, so it never outlives an owner that has not asked it to linger.
      const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', log], detached: true });
      if (child.stdin === null || child.stdout === null) throw new Error('traffic engine: no stdio pipes');
      return new TrafficEngine(child, child.stdin, child.stdout, logPath);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('traffic engine has no pid: it failed to start');
    return this.child.pid;
  }

  request(request: Request & { op: 'probe' }): Promise<Outcome>;
  request(request: Request & { op: 'peers' }): Promise<string[]>;
  request(request: Request): Promise<null>;
  request(request: Request): Promise<unknown> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    const limitMs = (request.op === 'probe' ? request.timeoutMs : 0) + ANSWER_SLACK_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`traffic engine gave no answer to ${JSON.stringify(request)} in ${limitMs} ms`));
      }, limitMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.stdin.write(JSON.stringify({ id, ...request }) + '\n');
    });
  }

  /** Lets the engine outlive this process (lab-cli up): it keeps serving after its stdin closes. */
  async detach(): Promise<void> {
    await this.request({ op: 'linger' });
    this.stdin.end();
    this.stdout.destroy();
    this.child.unref();
  }

  stop(): void {
    if (this.exited === undefined) this.child.kill('SIGKILL');
  }

  private answered(line: string): void {
    const answer = JSON.parse(line) as Answer;
    const waiter = this.waiters.get(answer.id);
    if (waiter === undefined) return;
    this.waiters.delete(answer.id);
    clearTimeout(waiter.timer);
    if (answer.ok) waiter.resolve(answer.value);
    else waiter.reject(new Error(`traffic engine: ${answer.error}`));
  }
}
