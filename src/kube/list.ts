// One list of a collection, page by page (limit/continue), read into the model as each page arrives so that
// only one page of raw JSON is held at a time.
import { ApiError } from './api-errors.js';
import type { ApiClient, QueryParameters } from './connection.js';
import { isMapping } from './json.js';

/** Which state a list may return (resourceVersion semantics of list). */
export type ListConsistency =
  /** The latest state: a consistent read. */
  | { readonly kind: 'latest' }
  /** Any state at least as new as this resourceVersion; the server may serve it from its cache. */
  | { readonly kind: 'not-older-than'; readonly resourceVersion: string };

export interface ListResult<T> {
  readonly resourceVersion: string;
  readonly items: readonly T[];
}

export async function listCollection<T>(
  client: ApiClient,
  path: string,
  consistency: ListConsistency,
  pageSize: number,
  read: (raw: unknown) => T,
  signal: AbortSignal,
): Promise<ListResult<T>> {
  const first: QueryParameters =
    consistency.kind === 'latest'
      ? { limit: String(pageSize) }
      : { limit: String(pageSize), resourceVersion: consistency.resourceVersion, resourceVersionMatch: 'NotOlderThan' };
  const items: T[] = [];
  let query = first;
  for (;;) {
    const page = readPage(await client.get(path, query, signal), path);
    for (const item of page.items) items.push(read(item));
    // Every page of one list is of the first page's resourceVersion: the continue token pins it.
    if (page.continueToken === '') return { resourceVersion: page.resourceVersion, items };
    query = { limit: String(pageSize), continue: page.continueToken };
  }
}

function readPage(body: unknown, path: string): { resourceVersion: string; continueToken: string; items: readonly unknown[] } {
  const list = isMapping(body) ? body : {};
  const metadata = isMapping(list['metadata']) ? list['metadata'] : {};
  const resourceVersion = metadata['resourceVersion'];
  if (typeof resourceVersion !== 'string' || resourceVersion === '' || !Array.isArray(list['items'])) {
    throw new ApiError(500, undefined, `list of ${path}: not a list (no metadata.resourceVersion or items)`);
  }
  const continueToken = typeof metadata['continue'] === 'string' ? metadata['continue'] : '';
  return { resourceVersion, continueToken, items: list['items'] };
}
