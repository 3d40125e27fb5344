// When to sync: a burst of changes becomes one transaction (debounce), a steady stream cannot postpone it past
// a bound (max delay), and after a failure nothing runs before the backoff has passed.

export interface SyncTiming {
  /** Quiet time after the last change before syncing. */
  readonly debounceMs: number;
  /** Longest time from the first unsynced change to the sync, however many changes follow it. */
  readonly maxDelayMs: number;
}

/** Changes not synced yet: when the first and the last arrived. */
export interface PendingChanges {
  readonly firstAt: number;
  readonly lastAt: number;
}

export function withChange(pending: PendingChanges | undefined, at: number): PendingChanges {
  return { firstAt: pending?.firstAt ?? at, lastAt: at };
}

/** When the pending changes are due, never before `notBefore` (the end of a failure's backoff). */
export function syncDueAt(pending: PendingChanges, timing: SyncTiming, notBefore: number): number {
  const debounced = Math.min(pending.lastAt + timing.debounceMs, pending.firstAt + timing.maxDelayMs);
  return Math.max(debounced, notBefore);
}

/** What a sync asks of the scheduler: nothing, or another attempt after a delay even if nothing changes. */
export interface SyncResult {
  readonly retryInMs?: number;
}

export interface SyncScheduler {
  /** Something may have changed: sync once the timing says so. */
  changed(): void;
  /** Stops scheduling and waits for a sync in progress to end. */
  stop(): Promise<void>;
}

/**
 * Runs `sync` when changes are due, one sync at a time: changes that arrive during a sync are pending for the
 * next one. A sync that throws counts as one asking for no retry; the caller's sync is expected to report its
 * own failures and ask for a retry instead.
 */
export function createSyncScheduler(timing: SyncTiming, sync: () => Promise<SyncResult>): SyncScheduler {
  let pending: PendingChanges | undefined;
  let notBefore = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const arm = () => {
    clearTimeout(timer);
    timer = undefined;
    if (stopped || running || !pending) return;
    timer = setTimeout(fire, Math.max(0, syncDueAt(pending, timing, notBefore) - Date.now()));
  };

  const fire = () => {
    timer = undefined;
    pending = undefined;
    running = sync()
      .catch((): SyncResult => ({}))
      .then((result) => {
        running = undefined;
        if (result.retryInMs !== undefined) {
          notBefore = Date.now() + result.retryInMs;
          pending = withChange(pending, Date.now());
        } else {
          notBefore = 0;
        }
        arm();
      });
  };

  return {
    changed: () => {
      if (stopped) return;
      pending = withChange(pending, Date.now());
      arm();
    },
    stop: async () => {
      stopped = true;
      arm();
      await running;
    },
  };
}
