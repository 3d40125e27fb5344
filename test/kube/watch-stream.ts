// One open watch: newline-delimited JSON events on a chunked response, as the API server streams them.
// Selectors are applied to each change the way the watch cache applies them: an object that starts matching
// arrives as ADDED, one that stops matching as DELETED.
import type { ServerResponse } from 'node:http';
import type { LabelSelector } from '../../src/model/types.js';
import type { ApiStatus } from './api-status.js';
import type { Change } from './history.js';
import type { ApiObject, Resource, ResourceName } from './resources.js';
import { type FieldRequirement, fieldsMatch, labelsMatch } from './selectors.js';

export interface WatchFilter {
  readonly namespace?: string;
  readonly labels: LabelSelector;
  readonly fields: readonly FieldRequirement[];
}

export interface WatchStreamOptions {
  readonly resource: Resource;
  readonly filter: WatchFilter;
  /** Null when the client did not ask for bookmarks (allowWatchBookmarks). */
  readonly bookmarkIntervalMs: number | null;
  readonly timeoutMs: number;
  readonly currentResourceVersion: () => number;
  readonly onClose: () => void;
}

/** Whether a list or watch with this filter shows the object. */
export function objectMatches(resource: Resource, filter: WatchFilter, object: ApiObject): boolean {
  if (filter.namespace !== undefined && object.metadata.namespace !== filter.namespace) return false;
  const field = (name: string) => resource.fields[name]!(object);
  return labelsMatch(filter.labels, object.metadata.labels) && fieldsMatch(filter.fields, field);
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchStream {
  readonly #response: ServerResponse;
  readonly #options: WatchStreamOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  #stalled = false;
  readonly #held: string[] = [];
  #open = true;

  constructor(response: ServerResponse, options: WatchStreamOptions) {
    this.#response = response;
    this.#options = options;
    response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    response.flushHeaders();
    response.on('close', () => this.#closed());
    this.#timers.push(setTimeout(() => this.end(), options.timeoutMs));
    if (options.bookmarkIntervalMs !== null) {
      this.#timers.push(setInterval(() => this.#bookmark(), options.bookmarkIntervalMs));
    }
  }

  get resource(): ResourceName {
    return this.#options.resource.name;
  }

  /** The synthetic ADDED events that open a watch from no resourceVersion ("get state and start at most recent"). */
  added(object: ApiObject): void {
    if (objectMatches(this.#options.resource, this.#options.filter, object)) this.#event('ADDED', object);
  }

  change(change: Change): void {
    if (change.resource !== this.#options.resource.name) return;
    const before = change.previous !== undefined && objectMatches(this.#options.resource, this.#options.filter, change.previous);
    const after = change.type !== 'DELETED' && objectMatches(this.#options.resource, this.#options.filter, change.object);
    if (after) this.#event(before ? 'MODIFIED' : 'ADDED', change.object);
    else if (before) this.#event('DELETED', change.object);
  }

  /** An ERROR event carrying a Status, after which the server ends the watch. */
  fail(status: ApiStatus): void {
    this.#write('ERROR', status);
    this.end();
  }

  /** Nothing more is sent for `ms`, and the connection stays open; what happens meanwhile is sent after. */
  stall(ms: number): void {
    this.#stalled = true;
    this.#timers.push(
      setTimeout(() => {
        this.#stalled = false;
        for (const line of this.#held.splice(0)) this.#response.write(line);
      }, ms),
    );
  }

  /** A clean end of the stream (timeoutSeconds reached, or an ERROR sent). */
  end(): void {
    if (this.#open) this.#response.end();
    this.#closed();
  }

  /** The connection cut mid-stream, as a crashed server or a dropped TCP flow leaves it. */
  drop(): void {
    this.#response.socket?.destroy();
    this.#closed();
  }

  #bookmark(): void {
    // A stalled connection sends nothing, bookmarks included.
    if (this.#stalled) return;
    const { kind, apiVersion } = this.#options.resource;
    this.#write('BOOKMARK', { kind, apiVersion, metadata: { resourceVersion: String(this.#options.currentResourceVersion()) } });
  }

  #event(type: EventType, object: ApiObject): void {
    const { kind, apiVersion } = this.#options.resource;
    this.#write(type, { kind, apiVersion, ...object });
  }

  #write(type: EventType, object: unknown): void {
    if (!this.#open) return;
    const line = `${JSON.stringify({ type, object })}\n`;
    if (this.#stalled) this.#held.push(line);
    else this.#response.write(line);
  }

  #closed(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#options.onClose();
  }
}
