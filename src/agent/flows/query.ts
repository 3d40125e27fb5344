// GET /flows?namespace=NS&since=1h: the parameters of the flow store's endpoint, checked.
import { parseDuration } from '../../advise/duration.js';
import type { FlowQuery } from './store.js';

export const FLOWS_PATH = '/flows';
const PARAMETERS = ['namespace', 'since'] as const;
const USAGE = 'expected namespace=NAMESPACE and since=DURATION (90s, 30m, 1h, 7d), both optional';
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The store query of a /flows URL (since counted back from `nowMs`), or what is wrong with it. */
export function flowsQuery(search: URLSearchParams, nowMs: number): FlowQuery | string {
  const given = new Map<string, string>();
  for (const [name, value] of search) {
    if (!(PARAMETERS as readonly string[]).includes(name)) return `unknown parameter ${name}: ${USAGE}`;
    if (given.has(name)) return `parameter ${name} given twice`;
    given.set(name, value);
  }
  const namespace = given.get('namespace');
  if (namespace !== undefined && !NAMESPACE.test(namespace)) return `namespace=${namespace}: expected a namespace name`;
  const since = given.get('since');
  const sinceMs = since === undefined ? undefined : parseDuration(since);
  if (since !== undefined && sinceMs === undefined) return `since=${since}: expected a duration such as 90s, 30m, 1h30m or 7d`;
  return { ...(namespace === undefined ? {} : { namespace }), ...(sinceMs === undefined ? {} : { sinceMs: nowMs - sinceMs }) };
}
