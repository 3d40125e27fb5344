// Where flow records meet their readers, with every buffer bounded: the last `recent` records for readers that
// ask for them, and per subscriber a queue of `queue` records, from which a reader too slow to keep up loses its
// oldest. A token bucket in front bounds the records a second the hub takes at all, whatever the kernel sends.
import type { FlowRecord, FlowVerdict } from '../../advise/flow-record.js';
import { tokenBucket } from './token-bucket.js';

export interface MonitorFilter {
  /** `ns/name`: records with this pod at either end. */
  readonly pod?: string;
  readonly verdict?: FlowVerdict;
}

export function matchesFilter(record: FlowRecord, filter: MonitorFilter): boolean {
  if (filter.verdict !== undefined && record.verdict !== filter.verdict) return false;
  if (filter.pod !== undefined && record.from !== filter.pod && record.to !== filter.pod) return false;
  return true;
}

export interface HubLimits {
  /** Records kept for readers that ask for the recent ones. */
  readonly recent: number;
  /** Records waiting for one subscriber before its oldest are dropped. */
  readonly queue: number;
  readonly maxSubscribers: number;
  /** The hub's own token bucket, behind the kernel's per-pod limits. */
  readonly ratePerSecond: number;
  readonly burst: number;
}

export const DEFAULT_HUB_LIMITS: HubLimits = { recent: 1_000, queue: 1_000, maxSubscribers: 32, ratePerSecond: 500, burst: 1_000 };

/** Why records went nowhere: over the hub's rate, or pushed out of a slow subscriber's queue. */
export type HubDropReason = 'rate-limit' | 'slow-subscriber';

export interface Subscription {
  /** The queued records, oldest first; the queue is empty afterwards. */
  take(): FlowRecord[];
  /** Records this subscriber lost to its full queue. */
  readonly dropped: number;
  /** Leaves the hub (the reader went away). */
  close(): void;
}

export interface SubscriberCallbacks {
  /** Records wait in the queue: take them when the reader can write. */
  readonly wake: () => void;
  /** The hub closed: the stream ends. */
  readonly end: () => void;
}

export interface MonitorHub {
  /** False when the hub's rate dropped the record. */
  publish(record: FlowRecord, nowMs: number): boolean;
  /** Kept records that pass the filter, oldest first, at or after `sinceMs` when given. */
  recent(filter: MonitorFilter, sinceMs?: number): FlowRecord[];
  /** Undefined when maxSubscribers readers are already there, or the hub is closed. */
  subscribe(filter: MonitorFilter, callbacks: SubscriberCallbacks): Subscription | undefined;
  readonly subscribers: number;
  /** Ends every subscription; later ones are refused. */
  close(): void;
}

export function createMonitorHub(limits: HubLimits, onDrop: (reason: HubDropReason, count: number) => void): MonitorHub {
  // A ring: `recent` slots, `next` the oldest once full.
  const kept: FlowRecord[] = [];
  let next = 0;
  const bucket = tokenBucket(limits.ratePerSecond, limits.burst);
  const subscribers = new Set<Subscriber>();
  let closed = false;

  class Subscriber implements Subscription {
    private queue: FlowRecord[] = [];
    private head = 0;
    dropped = 0;
    private woken = false;

    constructor(
      readonly filter: MonitorFilter,
      readonly callbacks: SubscriberCallbacks,
    ) {}

    offer(record: FlowRecord): void {
      if (!matchesFilter(record, this.filter)) return;
      if (this.queue.length - this.head >= limits.queue) {
        this.head++;
        this.dropped++;
        onDrop('slow-subscriber', 1);
      }
      this.queue.push(record);
      // Compact now and then rather than shifting on every drop.
      if (this.head > limits.queue) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (!this.woken) {
        this.woken = true;
        this.callbacks.wake();
      }
    }

    take(): FlowRecord[] {
      const records = this.queue.slice(this.head);
      this.queue = [];
      this.head = 0;
      this.woken = false;
      return records;
    }

    close(): void {
      subscribers.delete(this);
    }
  }

  return {
    publish(record, nowMs) {
      if (!bucket.take(nowMs)) {
        onDrop('rate-limit', 1);
        return false;
      }
      if (kept.length < limits.recent) kept.push(record);
      else {
        kept[next] = record;
        next = (next + 1) % limits.recent;
      }
      for (const subscriber of subscribers) subscriber.offer(record);
      return true;
    },
    recent(filter, sinceMs) {
      const ordered = [...kept.slice(next), ...kept.slice(0, next)];
      return ordered.filter((record) => matchesFilter(record, filter) && (sinceMs === undefined || Date.parse(record.time) >= sinceMs));
    },
    subscribe(filter, callbacks) {
      if (closed || subscribers.size >= limits.maxSubscribers) return undefined;
      const subscriber = new Subscriber(filter, callbacks);
      subscribers.add(subscriber);
      return subscriber;
    },
    get subscribers() {
      return subscribers.size;
    },
    close() {
      closed = true;
      const ending = [...subscribers];
      subscribers.clear();
      for (const subscriber of ending) subscriber.callbacks.end();
    },
  };
}
