// The kernel's packet log, read through tcpdump: `tcpdump -i nflog:GROUP[,GROUP] -w -` binds the nflog groups in
// the agent's own network namespace and writes a pcap stream of NFLOG records to its stdout. tcpdump gone
// (missing, killed, exited) is logged, counted and restarted with backoff; nothing the agent enforces waits on it.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay } from '../../nft/index.js';
import { LINKTYPE_NFLOG, type NflogRecord, parseNflog } from './nflog.js';
import { pcapReader } from './pcap-stream.js';

/**
 * libpcap reads each netlink datagram into a buffer of the snapshot length and cuts what does not fit. One record
 * needs about 140 bytes of NFLOG attributes (prefix, interfaces, addresses, time) and the packet's headers; the
 * kernel sends them one at a time (DENIED_LOG_QUEUE_THRESHOLD), and 4 KB still keeps a batch of about 25 should it
 * ever send more at once. A longer record is cut, and only its payload (the last attribute) loses its tail.
 */
export const SNAP_LENGTH = 4_096;

export const READER_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000 };

/** A run this long resets the backoff: the next failure is a new one, not the same failing again. */
const HEALTHY_RUN_MS = 30_000;

// Measured with tcpdump 4.99.3 under a bounding set of NET_ADMIN alone: `-Z root` fails in initgroups ("Couldn't
// change to 'root' uid=0 gid=0: Operation not permitted"), and without -Z it fails changing to user tcpdump.
export const PRIVILEGE_HINT = "tcpdump -Z root calls initgroups, which needs CAP_SETGID besides CAP_NET_ADMIN: add SETGID to the agent container's capabilities";
const STDERR_TAIL = 2_000;

export interface NflogReaderOptions {
  /** The nflog groups to bind, read by one tcpdump (it takes `nflog:8421,8422`). */
  readonly groups: readonly number[];
  readonly tcpdumpPath: string;
  readonly logger: Logger;
  readonly onRecord: (record: NflogRecord, timeMs: number) => void;
  /** A capture record that is no usable NFLOG record. */
  readonly onMalformed: (detail: string) => void;
  /** tcpdump ended or could not start, and will be started again. */
  readonly onRestart: () => void;
  readonly backoff?: BackoffPolicy;
}

export interface NflogReader {
  /** Ends tcpdump; resolves once it has exited. */
  stop(): Promise<void>;
}

export function tcpdumpArguments(...groups: number[]): string[] {
  // -Z root: tcpdump would switch to user tcpdump after opening the nflog socket; the agent runs as root anyway.
  return ['-Z', 'root', '-i', `nflog:${groups.join(',')}`, '-U', '-w', '-', '-s', String(SNAP_LENGTH), '--immediate-mode', '-q'];
}

export function startNflogReader(options: NflogReaderOptions): NflogReader {
  const log = options.logger;
  const backoff = options.backoff ?? READER_BACKOFF;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let stopping = false;

  const start = () => {
    retry = undefined;
    const args = tcpdumpArguments(...options.groups);
    const startedAt = Date.now();
    const parser = pcapReader(SNAP_LENGTH + 1_024);
    let stderr = '';
    let recordsRead = 0;
    const tcpdump = spawn(options.tcpdumpPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = tcpdump;
    let spawnError: Error | undefined;
    tcpdump.on('error', (error) => (spawnError = error));
    tcpdump.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL)));
    tcpdump.stdout.on('data', (chunk: Buffer) => {
      let records;
      try {
        records = parser.push(chunk);
      } catch (error) {
        // A corrupt stream cannot be resynchronised: start a new one.
        log.error({ err: error, command: options.tcpdumpPath }, 'the nflog capture is unreadable; restarting tcpdump');
        tcpdump.kill('SIGKILL');
        return;
      }
      for (const record of records) {
        recordsRead++;
        if (record.linkType !== LINKTYPE_NFLOG) {
          options.onMalformed(`capture link type ${record.linkType}, not NFLOG (${LINKTYPE_NFLOG})`);
          continue;
        }
        const nflog = parseNflog(record.data);
        if ('error' in nflog) options.onMalformed(nflog.error);
        else if (!options.groups.includes(nflog.group)) options.onMalformed(`NFLOG record of group ${nflog.group}, not ${options.groups.join(' or ')}`);
        // The kernel's time: records can wait in its queue before tcpdump gets them.
        else options.onRecord(nflog, nflog.timeMs ?? record.timeMs);
      }
    });
    exited = new Promise<void>((resolve) => {
      tcpdump.on('close', (code, signal) => {
        child = undefined;
        resolve();
        if (stopping) return;
        failures = Date.now() - startedAt >= HEALTHY_RUN_MS ? 1 : failures + 1;
        const retryInMs = backoffDelay(failures, backoff, Math.random());
        options.onRestart();
        log.error(
          {
            command: [options.tcpdumpPath, ...args].join(' '),
            ...(spawnError ? { err: spawnError } : { code, signal }),
            stderr: stderr.trim(),
            ...(/Couldn't change to/.test(stderr) ? { hint: PRIVILEGE_HINT } : {}),
            recordsRead,
            retryInMs,
          },
          'the denied-packet reader (tcpdump) ended; the verdict stream is paused until it restarts, and enforcement is unaffected',
        );
        retry = setTimeout(start, retryInMs);
      });
    });
    log.info({ command: [options.tcpdumpPath, ...args].join(' ') }, 'reading denied packets from nflog');
  };

  start();
  return {
    async stop() {
      stopping = true;
      if (retry) clearTimeout(retry);
      child?.kill('SIGTERM');
      await exited;
    },
  };
}
