// A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; each admitted event takes one.

export interface TokenBucket {
  /** Whether an event at `nowMs` fits (and takes its token). */
  take(nowMs: number): boolean;
}

export function tokenBucket(ratePerSecond: number, burst: number): TokenBucket {
  let tokens = burst;
  let last: number | undefined;
  return {
    take(nowMs) {
      if (last !== undefined && nowMs > last) tokens = Math.min(burst, tokens + ((nowMs - last) * ratePerSecond) / 1000);
      last = last === undefined ? nowMs : Math.max(last, nowMs);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
