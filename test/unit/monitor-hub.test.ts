// The hub's bounds: recent records kept up to a count, a slow subscriber's queue losing its oldest (counted), a
// token bucket in front, filters by pod and verdict, a cap on subscribers, and close ending every stream.
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/advise/flow-record.js';
import { createMonitorHub, DEFAULT_HUB_LIMITS, type HubLimits } from '../../src/agent/monitor/hub.js';
import { tokenBucket } from '../../src/agent/monitor/token-bucket.js';

const T0 = Date.parse('2026-11-23T23:00:00Z');

function record(i: number, overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    time: new Date(T0 + i * 1000).toISOString(),
    node: 'node-a',
    direction: 'ingress',
    from: '10.0.0.1',
    to: 'demo/web',
    port: 1000 + i,
    protocol: 'TCP',
    verdict: 'dropped',
    policies: ['demo/web-closed'],
    ...overrides,
  };
}

function hub(limits: Partial<HubLimits> = {}) {
  const drops: Record<string, number> = {};
  const h = createMonitorHub({ ...DEFAULT_HUB_LIMITS, ratePerSecond: 1e9, burst: 1e9, ...limits }, (reason, count) => {
    drops[reason] = (drops[reason] ?? 0) + count;
  });
  return { h, drops };
}

const noop = { wake: () => undefined, end: () => undefined };

describe('monitor hub', () => {
  it('keeps the last `recent` records, oldest first, filtered and from a time on', () => {
    const { h } = hub({ recent: 3 });
    for (let i = 0; i < 5; i++) h.publish(record(i, i === 3 ? { to: 'demo/db' } : {}), T0);
    expect(h.recent({}).map((r) => r.port)).toEqual([1002, 1003, 1004]);
    expect(h.recent({ pod: 'demo/web' }).map((r) => r.port)).toEqual([1002, 1004]);
    expect(h.recent({}, T0 + 3000).map((r) => r.port)).toEqual([1003, 1004]);
    expect(h.recent({ verdict: 'audit' })).toEqual([]);
  });

  it('queues records for a subscriber, wakes it once per batch, and drops the oldest of a full queue (counted)', () => {
    const { h, drops } = hub({ queue: 4 });
    let wakes = 0;
    const sub = h.subscribe({ pod: 'demo/web' }, { wake: () => wakes++, end: () => undefined })!;
    for (let i = 0; i < 10; i++) h.publish(record(i), T0);
    h.publish(record(10, { to: 'demo/db', from: 'demo/x' }), T0);
    expect(wakes).toBe(1);
    expect(sub.take().map((r) => r.port)).toEqual([1006, 1007, 1008, 1009]);
    expect(sub.dropped).toBe(6);
    expect(drops).toEqual({ 'slow-subscriber': 6 });
    h.publish(record(11), T0);
    expect(wakes).toBe(2);
    expect(sub.take().map((r) => r.port)).toEqual([1011]);
    expect(sub.take()).toEqual([]);
  });

  it('holds at most `queue` records per subscriber however many are published', () => {
    const { h } = hub({ queue: 100, recent: 50 });
    const sub = h.subscribe({}, noop)!;
    for (let i = 0; i < 100_000; i++) h.publish(record(i % 1000), T0);
    expect(sub.take()).toHaveLength(100);
    expect(sub.dropped).toBe(99_900);
    expect(h.recent({})).toHaveLength(50);
  });

  it('drops what exceeds its own rate, counted', () => {
    const { h, drops } = hub({ ratePerSecond: 10, burst: 5 });
    const published = Array.from({ length: 20 }, (_, i) => h.publish(record(i), T0 + i * 10));
    expect(published.filter(Boolean)).toHaveLength(6);
    expect(drops).toEqual({ 'rate-limit': 14 });
    expect(h.publish(record(99), T0 + 10_000)).toBe(true);
  });

  it('refuses subscribers beyond the cap, forgets closed ones, and ends every stream on close', () => {
    const { h } = hub({ maxSubscribers: 2 });
    let ended = 0;
    const a = h.subscribe({}, { wake: () => undefined, end: () => ended++ })!;
    h.subscribe({}, { wake: () => undefined, end: () => ended++ });
    expect(h.subscribe({}, noop)).toBeUndefined();
    a.close();
    expect(h.subscribers).toBe(1);
    expect(h.subscribe({}, { wake: () => undefined, end: () => ended++ })).toBeDefined();
    h.close();
    expect([ended, h.subscribers]).toEqual([2, 0]);
    expect(h.subscribe({}, noop)).toBeUndefined();
  });
});

describe('token bucket', () => {
  it('admits a burst, then the rate', () => {
    const bucket = tokenBucket(2, 3);
    expect([0, 0, 0, 0].map(() => bucket.take(T0))).toEqual([true, true, true, false]);
    expect(bucket.take(T0 + 499)).toBe(false);
    expect(bucket.take(T0 + 500)).toBe(true);
    // A clock that goes back refills nothing.
    expect(bucket.take(T0 + 100)).toBe(false);
  });
});
