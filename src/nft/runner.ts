// The one nft runner: a transaction in, nft run, retried with backoff, the outcome out.
//
// Two ways to hand nft a transaction, one runner. Small transactions (a change: a few elements, a chain) go to
// one long-lived `nft -j -i`, one line each: measured on this VM (nft 1.0.6, kernel 6.18) that costs ~0.3 ms
// beside one 20,000-element set and ~4 ms beside a node's full plan (nft re-reads the table's sets, chains and
// rules after every commit), against 5-20 ms more for a spawn, slower still on a loaded node. Large ones
// (a full plan) go to `nft -j -f FILE`, because interactive nft reads its input one byte per read(2) (libedit):
// a 20k-element plan took 374 ms that way against 62 ms from a file. Interactive nft reports neither exit status
// nor any end of answer (success is silence), so each line is followed by a sentinel command that always
// answers (process.ts), and stderr is joined to stdout to keep the order; it keeps every line in its history,
// so it runs with HOME in the runner's temporary directory and is restarted after INTERACTIVE_RECYCLE_BYTES.
// Dry runs that locate a failing command (rare) always use files. Given another binary than `nft` on PATH (the
// nftPath option or $BULKHEAD_NFT: wrappers that enter a namespace, inject faults or trace), every transaction is
// a run of its own by default, as such wrappers see and count runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { NftTransaction } from '../compile/index.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { type CounterReading, parseCounterListing } from './counters.js';
import { commandTarget, describeTarget, type NftCommandTarget } from './describe.js';
import { parseNftErrors } from './errors.js';
import { type FailureLocation, locateFailure } from './locate.js';
import { createNftMetrics, type NftMetrics } from './metrics.js';
import { execNft, type InteractiveNft, type NftExit, resolveNftPath, startInteractiveNft } from './process.js';

export interface RetryPolicy extends BackoffPolicy {
  /** Runs of one transaction before giving up on it, the first included. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 2_000 };

/** A stuck nft (the kernel's nftables mutex held elsewhere) must not stall the agent forever. */
export const DEFAULT_NFT_TIMEOUT_MS = 60_000;

/** Transactions up to this size (JSON bytes) go to the interactive nft; larger ones to a file. */
export const INTERACTIVE_MAX_BYTES = 64 * 1024;
/** The interactive nft is restarted once it has read this much, so its line history stays small. */
const INTERACTIVE_RECYCLE_BYTES = 16 * 1024 * 1024;

/** `interactive`: small transactions through one long-lived `nft -j -i`; `per-transaction`: one run each. */
export type NftSessionMode = 'interactive' | 'per-transaction';

export interface NftRunnerOptions {
  readonly logger: Logger;
  /** Default: $BULKHEAD_NFT, else `nft` on PATH. */
  readonly nftPath?: string;
  /** Where the runner's metrics are registered; a private registry when absent. */
  readonly registry?: Registry;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** Jitter source, [0, 1). */
  readonly random?: () => number;
  /** Default: interactive with `nft` on PATH, per-transaction with nftPath or $BULKHEAD_NFT (a wrapper). */
  readonly mode?: NftSessionMode;
}

export interface NftFailure {
  /** nft's error messages of the last attempt. */
  readonly messages: readonly string[];
  readonly location: FailureLocation;
  /** The command that fails, when a dry run located it. */
  readonly failedCommand?: NftCommandTarget;
}

export type ApplyOutcome =
  | { readonly ok: true; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly failure: NftFailure };

export interface NftRunner {
  readonly metrics: NftMetrics;
  /**
   * Applies one transaction atomically: on failure the ruleset is as it was. Retries failures a dry run does not
   * reproduce (transient ones); one that it does is returned at once, naming the failing command.
   */
  apply(transaction: NftTransaction): Promise<ApplyOutcome>;
  /** Named counters of a table. Off the hot path: for metrics scrapes only. */
  readCounters(table: { readonly family: string; readonly name: string }): Promise<CounterReading[]>;
  /** Ends the interactive nft and removes the runner's temporary files. Leaves the ruleset alone. */
  close(): Promise<void>;
}

export function createNftRunner(options: NftRunnerOptions): NftRunner {
  const nftPath = resolveNftPath(options.nftPath);
  const retry = options.retry ?? DEFAULT_RETRY;
  const timeoutMs = options.timeoutMs ?? DEFAULT_NFT_TIMEOUT_MS;
  const random = options.random ?? Math.random;
  const metrics = createNftMetrics(options.registry ?? new Registry());
  const log = options.logger.child({ component: 'nft' });
  let workDir: Promise<string> | undefined;
  // Transactions are applied one at a time, in call order: each is diffed against the one before.
  let queue: Promise<unknown> = Promise.resolve();

  const mode = options.mode ?? (options.nftPath === undefined && process.env['BULKHEAD_NFT'] === undefined ? 'interactive' : 'per-transaction');
  let session: { readonly nft: InteractiveNft; sent: number } | undefined;

  const directory = () => (workDir ??= mkdtemp(join(tmpdir(), 'bulkhead-nft-')));

  const runInteractive = async (line: string): Promise<NftExit> => {
    if (session && (!session.nft.alive() || session.sent > INTERACTIVE_RECYCLE_BYTES)) {
      await session.nft.close();
      session = undefined;
    }
    session ??= { nft: startInteractiveNft(nftPath, await directory()), sent: 0 };
    session.sent += line.length;
    return session.nft.run(line, timeoutMs);
  };

  const runTransaction = (transaction: NftTransaction): Promise<NftExit> => {
    const line = JSON.stringify(transaction);
    if (mode === 'interactive' && line.length <= INTERACTIVE_MAX_BYTES) return runInteractive(line);
    return runFile('transaction.json', transaction, false);
  };

  const runFile = async (name: string, transaction: NftTransaction, dryRun: boolean) => {
    const file = join(await directory(), name);
    await writeFile(file, JSON.stringify(transaction));
    try {
      return await execNft(nftPath, dryRun ? ['-c', '-j', '-f', file] : ['-j', '-f', file], timeoutMs);
    } finally {
      await rm(file, { force: true });
    }
  };

  const locate = (transaction: NftTransaction) =>
    locateFailure(transaction.nftables.length, async (length) => {
      const prefix = { nftables: transaction.nftables.slice(0, length) };
      return (await runFile('dry-run.json', prefix, true)).code !== 0;
    });

  const applyNow = async (transaction: NftTransaction): Promise<ApplyOutcome> => {
    if (transaction.nftables.length === 0) return { ok: true, attempts: 0 };
    const stopTimer = metrics.transactionSeconds.startTimer();
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) metrics.retries.inc();
      const exit = await runTransaction(transaction);
      if (exit.code === 0) {
        metrics.transactions.inc({ result: 'applied' });
        stopTimer();
        if (attempt > 1) log.info({ attempts: attempt, commands: transaction.nftables.length }, 'nft transaction applied after retries');
        return { ok: true, attempts: attempt };
      }
      metrics.failedAttempts.inc();
      const failure = describeFailure(transaction, parseNftErrors(exit.stderr), await locate(transaction));
      const reproducible = failure.location.kind === 'command';
      const giveUp = reproducible || attempt >= retry.maxAttempts;
      const delayMs = giveUp ? undefined : backoffDelay(attempt, retry, random());
      const fields = {
        attempt,
        maxAttempts: retry.maxAttempts,
        errors: failure.messages,
        ...(failure.failedCommand ? { object: describeTarget(failure.failedCommand) } : {}),
        ...(delayMs === undefined ? {} : { retryInMs: delayMs }),
      };
      if (giveUp) {
        metrics.transactions.inc({ result: 'failed' });
        stopTimer();
        log.error(fields, reproducible ? 'nft transaction fails; previous ruleset kept' : 'nft transaction failed after retries; previous ruleset kept');
        return { ok: false, attempts: attempt, failure };
      }
      log.warn(fields, 'nft transaction failed; retrying');
      await sleep(delayMs ?? 0);
    }
  };

  return {
    metrics,
    apply: (transaction) => {
      const result = queue.then(() => applyNow(transaction));
      queue = result.catch(() => undefined);
      return result;
    },
    readCounters: async (table) => {
      const exit = await execNft(nftPath, ['-j', 'list', 'counters', 'table', table.family, table.name], timeoutMs);
      if (exit.code !== 0) {
        throw new Error(`cannot list counters of table ${table.family} ${table.name}: ${parseNftErrors(exit.stderr).join('; ')}`);
      }
      return parseCounterListing(exit.stdout);
    },
    close: async () => {
      await queue;
      await session?.nft.close();
      session = undefined;
      if (workDir) await rm(await workDir, { recursive: true, force: true });
      workDir = undefined;
    },
  };
}

function describeFailure(transaction: NftTransaction, messages: readonly string[], location: FailureLocation): NftFailure {
  if (location.kind === 'not-reproduced') return { messages, location };
  const command = transaction.nftables[location.index];
  return command === undefined ? { messages, location } : { messages, location, failedCommand: commandTarget(command) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
