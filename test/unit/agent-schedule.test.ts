import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSyncScheduler, syncDueAt, type SyncResult, withChange } from '../../src/agent/schedule.js';

const timing = { debounceMs: 100, maxDelayMs: 1_000 };

describe('syncDueAt', () => {
  it.each([
    ['one change: after the quiet time', { firstAt: 0, lastAt: 0 }, 0, 100],
    ['a burst: after the quiet time following its last change', { firstAt: 0, lastAt: 450 }, 0, 550],
    ['a stream: no later than the max delay after its first change', { firstAt: 0, lastAt: 990 }, 0, 1_000],
    ['a backoff: not before it ends', { firstAt: 0, lastAt: 0 }, 5_000, 5_000],
    ['a backoff already over: the debounce decides', { firstAt: 1_000, lastAt: 1_000 }, 500, 1_100],
  ])('%s', (_, pending, notBefore, due) => {
    expect(syncDueAt(pending, timing, notBefore)).toBe(due);
  });

  it('keeps the first change of a burst', () => {
    expect(withChange(withChange(undefined, 10), 70)).toEqual({ firstAt: 10, lastAt: 70 });
  });
});

describe('createSyncScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A sync that records when it ran and takes `durationMs`, answering with what `answer` says. */
  const recorder = (durationMs = 0, answer: (run: number) => SyncResult = () => ({})) => {
    const runs: number[] = [];
    const sync = async () => {
      runs.push(Date.now());
      if (durationMs > 0) await new Promise((resolve) => setTimeout(resolve, durationMs));
      return answer(runs.length);
    };
    return { runs, sync };
  };

  it('turns a burst of changes into one sync, after the quiet time', async () => {
    const { runs, sync } = recorder();
    const scheduler = createSyncScheduler(timing, sync);
    for (let t = 0; t <= 300; t += 50) {
      scheduler.changed();
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toEqual([400]);
    await scheduler.stop();
  });

  it('does not let a steady stream of changes postpone the sync past the max delay', async () => {
    const { runs, sync } = recorder();
    const scheduler = createSyncScheduler(timing, sync);
    for (let t = 0; t < 2_500; t += 50) {
      scheduler.changed();
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(runs).toEqual([1_000, 2_000]);
    await scheduler.stop();
  });

  it('runs one sync at a time, and one more for the changes that came during it', async () => {
    const { runs, sync } = recorder(500);
    const scheduler = createSyncScheduler(timing, sync);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(200);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(100);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(3_000);
    // The first sync runs 100..600; the changes at 200 and 300 were due at 400: the next runs as soon as it ends
    // (a zero-delay timer, 1 ms).
    expect(runs).toHaveLength(2);
    expect(runs[0]).toBe(100);
    expect(runs[1]).toBeGreaterThanOrEqual(600);
    expect(runs[1]).toBeLessThanOrEqual(601);
    await scheduler.stop();
  });

  it('retries a failed sync after its backoff, and changes meanwhile do not cut the backoff short', async () => {
    const { runs, sync } = recorder(0, (run) => (run === 1 ? { retryInMs: 2_000 } : {}));
    const scheduler = createSyncScheduler(timing, sync);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(500);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toEqual([100, 2_100]);
    await scheduler.stop();
  });

  it('retries even when nothing changes', async () => {
    const { runs, sync } = recorder(0, (run) => (run <= 2 ? { retryInMs: 1_000 } : {}));
    const scheduler = createSyncScheduler(timing, sync);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toEqual([100, 1_100, 2_100]);
    await scheduler.stop();
  });

  it('stops: waits for the sync in progress and starts no other', async () => {
    const { runs, sync } = recorder(1_000);
    const scheduler = createSyncScheduler(timing, sync);
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(200);
    scheduler.changed();
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    await stopping;
    scheduler.changed();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toEqual([100]);
  });
});
