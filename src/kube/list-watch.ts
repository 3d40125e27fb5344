// List then watch one collection, for as long as it runs, and keep a sink in step with the server:
// - watches resume from the last resourceVersion seen, bookmarks included, so a quiet collection does not fall
//   out of the server's history;
// - 410 Gone (history compacted) relists the latest state, and the sink replaces its whole content, so objects
//   deleted while the watch was away disappear;
// - a stream that ends, breaks or falls silent (no event and no bookmark for stallTimeoutMs) is watched again,
//   after a jittered exponential backoff when it failed or brought nothing;
// - a periodic relist (resync) corrects anything a bug or a lost event might have left; it asks for a state not
//   older than the one already seen, so a lagging cache cannot take the sink back in time, and falls back to a
//   consistent read when the cache cannot serve that.
//
// @kubernetes/client-node has a ListWatch, but it stops for good on any error but 410 (a dropped connection
// included), never asks for bookmarks, does not notice a stalled stream, never resyncs, lists through the typed
// clients (whose objects differ from watch events and lose fields), and keeps every full object in memory.
// This one keeps nothing but the resourceVersion: the sink holds what matters.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type BackoffPolicy, backoffDelay } from '../nft/index.js';
import { ApiError, describeError, isExpired, isTooLargeResourceVersion } from './api-errors.js';
import type { ApiClient } from './connection.js';
import { resourceVersionOf } from './json.js';
import { type ListConsistency, listCollection } from './list.js';

export interface WatchTiming {
  /** Objects per list page. */
  readonly pageSize: number;
  /** A watch asks the server to end it after this long, times a random 1 to 2 (so watches do not end together). */
  readonly watchTimeoutSeconds: number;
  /**
   * A watch that brings neither an event nor a bookmark for this long is taken as stalled and opened again.
   * kube-apiserver sends bookmarks about once a minute (and just before a watch's timeout), though it promises
   * none: a quiet watch taken for stalled costs one more watch request, from the same resourceVersion.
   */
  readonly stallTimeoutMs: number;
  /** A full relist this often, times a random 1 to 1.1. */
  readonly resyncIntervalMs: number;
  /** A list page with no answer for this long fails. */
  readonly requestTimeoutMs: number;
  /** Between failed lists and watches. */
  readonly backoff: BackoffPolicy;
}

export const DEFAULT_WATCH_TIMING: WatchTiming = {
  pageSize: 500,
  watchTimeoutSeconds: 300,
  stallTimeoutMs: 180_000,
  resyncIntervalMs: 30 * 60_000,
  requestTimeoutMs: 60_000,
  backoff: { initialDelayMs: 500, maxDelayMs: 30_000 },
};

/** Why a watch was opened again. */
export type RestartReason =
  /** The server ended the stream (its timeout, or a shutdown). */
  | 'closed'
  /** The connection failed or broke, or the server sent an ERROR event other than 410. */
  | 'error'
  /** Nothing arrived for stallTimeoutMs. */
  | 'stalled'
  /** 410 Gone: the history was compacted past our resourceVersion; a relist followed. */
  | 'expired'
  /** The periodic relist. */
  | 'resync';
export const RESTART_REASONS: readonly RestartReason[] = ['closed', 'error', 'stalled', 'expired', 'resync'];

/** Where a ListWatch delivers what it reads. */
export interface ListWatchSink<T> {
  /** The whole collection, after each list: what is not in it is gone. */
  replace(items: readonly T[]): void;
  upsert(item: T): void;
  remove(item: T): void;
}

export interface ListWatchStatus {
  /** The last resourceVersion seen (list, event or bookmark); '' before the first list. */
  readonly resourceVersion: string;
  /** A first list has been delivered. */
  readonly listed: boolean;
  readonly restarts: Readonly<Record<RestartReason, number>>;
  readonly listFailures: number;
  /**
   * The last list or watch request got an answer: a list came back, or a watch stream is open. False from a
   * failed list or a watch that broke or stalled until a request succeeds again.
   */
  readonly up: boolean;
}

export interface ListWatchOptions<T> {
  readonly client: ApiClient;
  /** The collection, `/api/v1/pods`. */
  readonly path: string;
  /** Reads one raw object; never throws (what is wrong with an object is part of what it reads to). */
  readonly read: (raw: unknown) => T;
  readonly sink: ListWatchSink<T>;
  readonly timing: WatchTiming;
  readonly logger: Logger;
  /** In [0, 1); Math.random unless a test pins it. */
  readonly random?: () => number;
  /** Called with the status after each change of it (a resourceVersion seen, a restart, up or down), after the sink's. */
  readonly onStatus?: (status: ListWatchStatus) => void;
}

interface WatchEnd {
  readonly reason: RestartReason | 'stopped';
  /** Whether the stream brought any event or bookmark. */
  readonly progressed: boolean;
  readonly error?: unknown;
}

// setTimeout takes at most a signed 32-bit number of milliseconds; a longer delay would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ListWatch<T> {
  readonly #options: ListWatchOptions<T>;
  readonly #random: () => number;
  readonly #stopping = new AbortController();
  #resourceVersion = '';
  #listed = false;
  readonly #restarts: Record<RestartReason, number> = { closed: 0, error: 0, stalled: 0, expired: 0, resync: 0 };
  #listFailures = 0;
  #up = false;
  /** Failures in a row, for the backoff; an answer with content ends the row. */
  #failures = 0;
  #resyncAt = 0;
  #endWatch: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ListWatchOptions<T>) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Ends the watch or list under way; resolves when nothing more will reach the sink. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#endWatch?.();
    await this.#running;
  }

  status(): ListWatchStatus {
    return { resourceVersion: this.#resourceVersion, listed: this.#listed, restarts: { ...this.#restarts }, listFailures: this.#listFailures, up: this.#up };
  }

  #statusChanged(): void {
    this.#options.onStatus?.(this.status());
  }

  async #run(): Promise<void> {
    let relist: ListConsistency | undefined = { kind: 'latest' };
    while (!this.#stopping.signal.aborted) {
      if (relist) {
        relist = await this.#list(relist);
        continue;
      }
      const end = await this.#watch();
      if (end.reason === 'stopped') return;
      this.#restarts[end.reason]++;
      if (end.progressed) this.#failures = 0;
      if (end.reason === 'error' || end.reason === 'stalled') this.#up = false;
      this.#logWatchEnd(end);
      this.#statusChanged();
      if (end.reason === 'expired') relist = { kind: 'latest' };
      if (end.reason === 'resync') relist = { kind: 'not-older-than', resourceVersion: this.#resourceVersion };
      const failed = end.reason === 'error' || end.reason === 'stalled' || (!end.progressed && end.reason !== 'resync');
      if (failed) await this.#backOff();
    }
  }

  /** One list into the sink; what to list next when it failed, undefined when it succeeded. */
  async #list(consistency: ListConsistency): Promise<ListConsistency | undefined> {
    const { client, path, timing, read, sink, logger } = this.#options;
    try {
      const result = await listCollection(client, path, consistency, timing.pageSize, read, this.#stopping.signal);
      if (this.#stopping.signal.aborted) return undefined;
      this.#resourceVersion = result.resourceVersion;
      this.#failures = 0;
      this.#resyncAt = Date.now() + timing.resyncIntervalMs * (1 + this.#random() / 10);
      logger.info({ resourceVersion: result.resourceVersion, objects: result.items.length, consistency: consistency.kind }, 'listed');
      sink.replace(result.items);
      this.#listed = true;
      this.#up = true;
      this.#statusChanged();
      return undefined;
    } catch (error) {
      if (this.#stopping.signal.aborted) return undefined;
      this.#listFailures++;
      this.#up = false;
      this.#statusChanged();
      if (consistency.kind === 'not-older-than' && (isTooLargeResourceVersion(error) || isExpired(error))) {
        // The cache cannot serve a state as new as the one we hold: read the latest from storage instead.
        logger.info({ err: describeError(error), resourceVersion: consistency.resourceVersion }, 'the cache cannot serve this resourceVersion; listing the latest');
        return { kind: 'latest' };
      }
      logger.warn({ err: describeError(error) }, 'list failed');
      await this.#backOff();
      // An expired continue token: the list starts over from the latest state.
      return isExpired(error) ? { kind: 'latest' } : consistency;
    }
  }

  #watch(): Promise<WatchEnd> {
    const { client, path, timing, read, sink, logger } = this.#options;
    return new Promise<WatchEnd>((resolve) => {
      let progressed = false;
      let settled = false;
      let controller: AbortController | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      let resync: NodeJS.Timeout | undefined;
      const end = (reason: WatchEnd['reason'], error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        clearTimeout(resync);
        this.#endWatch = undefined;
        controller?.abort();
        resolve({ reason, progressed, ...(error !== undefined ? { error } : {}) });
      };
      const armWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => end('stalled'), timing.stallTimeoutMs);
      };
      resync = setTimeout(() => end('resync'), Math.min(MAX_TIMER_MS, Math.max(0, this.#resyncAt - Date.now())));
      this.#endWatch = () => end('stopped');
      armWatchdog();

      const onEvent = (type: string, object: unknown) => {
        if (settled) return;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            sink.upsert(read(object));
            break;
          case 'DELETED':
            sink.remove(read(object));
            break;
          case 'BOOKMARK':
            break;
          case 'ERROR': {
            const error = ApiError.fromStatus(object);
            end(isExpired(error) ? 'expired' : 'error', error);
            return;
          }
          default:
            logger.warn({ type }, 'unknown watch event type, ignored');
            return;
        }
        // Bookmarks carry nothing but this: all changes up to it have been sent.
        const version = resourceVersionOf(object);
        if (version !== '') this.#resourceVersion = version;
        progressed = true;
        armWatchdog();
        if (version !== '') this.#statusChanged();
      };
      const onDone = (error: unknown) => {
        if (error === null || error === undefined) end('closed');
        else end(isExpired(error) ? 'expired' : 'error', error);
      };
      const timeoutSeconds = Math.round(timing.watchTimeoutSeconds * (1 + this.#random()));
      const query = { resourceVersion: this.#resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) };
      logger.debug({ resourceVersion: this.#resourceVersion, timeoutSeconds }, 'watching');
      client.watch(path, query, onEvent, onDone).then(
        (opened) => {
          controller = opened;
          if (settled) {
            opened.abort();
          } else if (!this.#up) {
            // The library resolves after a 200 answer; any other ended the watch (settled) before this.
            this.#up = true;
            this.#statusChanged();
          }
        },
        (error: unknown) => end('error', error),
      );
    });
  }

  #logWatchEnd(end: WatchEnd): void {
    const fields = { reason: end.reason, resourceVersion: this.#resourceVersion, ...(end.error !== undefined ? { err: describeError(end.error) } : {}) };
    switch (end.reason) {
      case 'closed':
      case 'resync':
        this.#options.logger.debug(fields, 'watch ended');
        break;
      case 'expired':
        this.#options.logger.info(fields, 'resourceVersion expired (410 Gone): relisting');
        break;
      case 'error':
      case 'stalled':
        this.#options.logger.warn(fields, 'watch failed');
        break;
      case 'stopped':
        break;
      default: {
        const unreachable: never = end.reason;
        throw new Error(`unknown watch end ${String(unreachable)}`);
      }
    }
  }

  async #backOff(): Promise<void> {
    this.#failures++;
    const delay = backoffDelay(this.#failures, this.#options.timing.backoff, this.#random());
    await sleep(delay, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
  }
}
