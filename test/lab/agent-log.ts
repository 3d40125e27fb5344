// An agent's JSON log as it grows: read incrementally from its file, so that a test (or lab-cli) can wait for
// what the agent says it has put in force. The agent logs, on each sync that brings new inputs into force
// ('rules applied' / 'rules already in force'), `resourceVersion` with the API source and `manifestsDigest` with
// the manifests source.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface AgentLogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const IN_FORCE = new Set(['rules applied', 'rules already in force']);
const WARN = 40;

export class AgentLog {
  readonly entries: AgentLogEntry[] = [];
  /** The resourceVersion in force after the latest sync (API source). */
  resourceVersion: number | undefined;
  /** The manifests digest in force after the latest sync (manifests source). */
  manifestsDigest: string | undefined;
  #offset = 0;
  #partial = '';

  constructor(readonly path: string) {}

  /** Reads what was written since the last call; returns the new entries. */
  read(): AgentLogEntry[] {
    const fd = openSync(this.path, 'r');
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, this.#offset);
        if (read === 0) break;
        this.#offset += read;
        this.#partial += buffer.subarray(0, read).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.#partial.split('\n');
    this.#partial = lines.pop() ?? '';
    const fresh: AgentLogEntry[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let entry: AgentLogEntry;
      try {
        entry = JSON.parse(line) as AgentLogEntry;
      } catch {
        // Not pino's: something the process printed itself. Kept as a message so that reports show it.
        entry = { level: WARN, msg: line };
      }
      fresh.push(entry);
      if (IN_FORCE.has(entry.msg)) {
        if (typeof entry['resourceVersion'] === 'string') this.resourceVersion = Number(entry['resourceVersion']);
        if (typeof entry['manifestsDigest'] === 'string') this.manifestsDigest = entry['manifestsDigest'];
      }
    }
    this.entries.push(...fresh);
    return fresh;
  }

  /** Entries with this message, in order. */
  withMessage(msg: string | RegExp): AgentLogEntry[] {
    return this.entries.filter((e) => (typeof msg === 'string' ? e.msg === msg : msg.test(e.msg)));
  }

  /** The latest warnings and errors, as lines, for a failure message. */
  problems(count = 10): string[] {
    return this.entries.filter((e) => e.level >= WARN).slice(-count).map((e) => JSON.stringify(e));
  }
}

/** The last 4 KiB of a file (an agent's stderr), for a failure message. */
export function readTail(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      const length = Math.min(size, 4096);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').trim();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
