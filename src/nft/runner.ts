// The one nft runner: a transaction in, `nft -j -f FILE` run, retried with backoff, the outcome out.
//
// Why a file per transaction and not one long-lived `nft -j -i`: measured on this VM (nft 1.0.6, kernel 6.18),
// interactive mode costs ~0.5 ms a small change against ~5 ms (add) / ~20 ms (delete) for a spawn, but it reads
// its input one byte per read(2) (libedit), which makes a 20k-element full plan 6x slower (374 ms vs 62 ms); it
// reports neither exit status nor any delimiter per line (success is silence, so every line needs a sentinel
// and stderr merged into stdout to keep the order); and it keeps every line in its history, written to
// $HOME/.nft.history at exit. Spawning keeps each transaction's result exact (its own exit status and stderr);
// the agent debounces changes, so the spawn cost is paid at most once per debounce window.
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
import { execNft, resolveNftPath } from './process.js';

export interface RetryPolicy extends BackoffPolicy {
  /** Runs of one transaction before giving up on it, the first included. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 2_000 };

/** A stuck nft (the kernel's nftables mutex held elsewhere) must not stall the agent forever. */
export const DEFAULT_NFT_TIMEOUT_MS = 60_000;

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
  /** Removes the runner's temporary files. Leaves the ruleset alone. */
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

  const directory = () => (workDir ??= mkdtemp(join(tmpdir(), 'bulkhead-nft-')));

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
      const exit = await runFile('transaction.json', transaction, false);
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
