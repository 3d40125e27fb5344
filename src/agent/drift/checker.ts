// Now and then, off the sync path: does the kernel still hold what the agent applied? Someone may have run
// `nft flush ruleset`, another tool may have touched our tables, a set may have lost elements. When it does
// not, say what differs, count it, and have the agent rebuild the tables in one transaction.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Plan } from '../../compile/index.js';
import { DEFAULT_NFT_TIMEOUT_MS, resolveNftPath } from '../../nft/index.js';
import { describeDrift, driftObject } from './describe.js';
import { type KernelDrift, kernelDrift } from './drift.js';
import { type KernelLister, nftKernelLister } from './list-kernel.js';

const DEFAULT_DRIFT_CHECK_INTERVAL_MS = 30_000;

/** The log names this many differences at most (and how many there were). */
const LOGGED_DIFFERENCES = 20;

export interface AppliedKernel {
  readonly plan: Plan;
  /** Changes whenever a transaction starts or ends, so a listing taken across one is recognised. */
  readonly generation: number;
}

/** What the checker needs of the agent. */
export interface DriftSubject {
  /**
   * The plan the kernel holds as far as the agent knows. Undefined while that is not known exactly (before the
   * first sync, after a failed one, while a transaction is being applied): there is then nothing to compare.
   */
  appliedKernel(): AppliedKernel | undefined;
  /** Have the next sync replace the tables whole, in one transaction, whatever it believes they hold. */
  requestFullResync(reason: string): void;
}

export interface DriftCheckerOptions {
  readonly subject: DriftSubject;
  /** The nft binary, resolved as the runner resolves it: default $BULKHEAD_NFT, else `nft` on PATH. */
  readonly nftPath?: string;
  /** How the tables are read back; default: `nft -j list table` through `nftPath`. */
  readonly listKernel?: KernelLister;
  readonly logger: Logger;
  /** Where `bulkhead_drift_repairs_total` is registered: the agent's registry. */
  readonly registry: Registry;
  /** The longest time between two checks; each wait is drawn from its upper half. Default 30 s. */
  readonly intervalMs?: number;
  /** Jitter source, [0, 1). */
  readonly random?: () => number;
}

export type DriftCheckOutcome =
  | { readonly kind: 'in-sync' }
  /** The kernel differed; a full resync was asked for. */
  | { readonly kind: 'repair-requested'; readonly drift: readonly KernelDrift[] }
  | { readonly kind: 'skipped'; readonly reason: 'nothing applied exactly' | 'a transaction ran during the listing' }
  | { readonly kind: 'failed'; readonly error: string };

export interface DriftChecker {
  /** Runs one check now (after one in progress ends). */
  checkNow(): Promise<DriftCheckOutcome>;
  /** No more checks; waits for one in progress. */
  stop(): Promise<void>;
}

export function startDriftChecker(options: DriftCheckerOptions): DriftChecker {
  const intervalMs = options.intervalMs ?? DEFAULT_DRIFT_CHECK_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new Error(`drift check interval: must be a positive whole number of milliseconds, not ${intervalMs}`);
  const random = options.random ?? Math.random;
  const listKernel = options.listKernel ?? nftKernelLister(resolveNftPath(options.nftPath), DEFAULT_NFT_TIMEOUT_MS);
  const log = options.logger.child({ component: 'drift' });
  const repairs = new Counter({
    name: 'bulkhead_drift_repairs_total',
    help: 'Times the kernel was found not to hold the applied rules (tables flushed or edited by someone else), each answered by rebuilding the tables',
    registers: [options.registry],
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // One check at a time: the timer's and checkNow's are queued behind each other.
  let queue: Promise<unknown> = Promise.resolve();
  // What the last check that found drift found, until a check finds none.
  let lastDrift: string | undefined;

  const checkOnce = async (): Promise<DriftCheckOutcome> => {
    const before = options.subject.appliedKernel();
    if (!before) return { kind: 'skipped', reason: 'nothing applied exactly' };
    const listings = await listKernel(before.plan.tables);
    // A transaction that started or ended meanwhile may be in the listing: it would look like drift.
    if (options.subject.appliedKernel()?.generation !== before.generation) return { kind: 'skipped', reason: 'a transaction ran during the listing' };
    const drift = kernelDrift(before.plan, listings);
    if (drift.length === 0) {
      lastDrift = undefined;
      log.debug('the kernel holds the applied rules');
      return { kind: 'in-sync' };
    }
    repairs.inc();
    const differences = drift.slice(0, LOGGED_DIFFERENCES).map(describeDrift);
    const fields = {
      objects: [...new Set(drift.map(driftObject))],
      differences,
      ...(drift.length > differences.length ? { moreDifferences: drift.length - differences.length } : {}),
    };
    // The same differences right after the rebuild that should have removed them: something keeps undoing our
    // tables, or this check misreads what nft lists. Repairing stays the safe answer; an operator has to look.
    const key = JSON.stringify(drift);
    if (key === lastDrift) {
      log.error(fields, 'the kernel differs from the applied rules again in the same way after a rebuild; rebuilding the tables again');
    } else {
      log.warn(fields, 'the kernel does not hold the applied rules; rebuilding the tables in one transaction');
    }
    lastDrift = key;
    options.subject.requestFullResync(`kernel drift: ${differences[0]}`);
    return { kind: 'repair-requested', drift };
  };

  const guardedCheck = async (): Promise<DriftCheckOutcome> => {
    try {
      return await checkOnce();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ object: 'agent', err: message }, 'cannot check the tables against the applied rules; trying again at the next check');
      return { kind: 'failed', error: message };
    }
  };

  const checkNow = (): Promise<DriftCheckOutcome> => {
    const result = queue.then(guardedCheck);
    queue = result;
    return result;
  };

  const arm = () => {
    if (stopped) return;
    const delay = Math.round(intervalMs / 2 + (intervalMs / 2) * random());
    timer = setTimeout(() => {
      void checkNow().then(arm);
    }, delay);
  };
  arm();

  return {
    checkNow,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await queue;
    },
  };
}
