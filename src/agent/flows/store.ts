// The connections this node was seen to allow (the --monitor-allowed sample), each kept once: its direction, ends,
// port and protocol, with when it was first and last seen and how often. Bounded: past `maxFlows` distinct
// flows, the one seen least recently leaves (and is counted), so a churn of short-lived pods costs no memory
// beyond the bound. `bulkhead advise` reads it through GET /flows.
import type { FlowRecord } from '../../advise/flow-record.js';

export const DEFAULT_MAX_FLOWS = 10_000;

export interface StoredFlow {
  /** The last record of the flow: its time is when the flow was last seen. */
  readonly record: FlowRecord;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly count: number;
}

export interface FlowQuery {
  /** Flows with a pod of this namespace at either end. */
  readonly namespace?: string;
  /** Flows last seen at or after this instant (ms since the epoch). */
  readonly sinceMs?: number;
}

export interface FlowStore {
  /** Records of other verdicts than allowed are no connection the cluster has: ignored. */
  add(record: FlowRecord): void;
  /** Matching flows as flow records (time = last seen), least recently seen first. */
  flows(query: FlowQuery): FlowRecord[];
  /** The stored flows with their counts, least recently seen first. */
  entries(): StoredFlow[];
  readonly size: number;
  /** Flows that left to make room for newer ones since the store began. */
  readonly evicted: number;
}

function flowKey(record: FlowRecord): string {
  return `${record.direction} ${record.from} ${record.to} ${record.port}/${record.protocol}`;
}

function inNamespace(record: FlowRecord, namespace: string): boolean {
  const prefix = `${namespace}/`;
  return record.from.startsWith(prefix) || record.to.startsWith(prefix);
}

export function createFlowStore(maxFlows: number = DEFAULT_MAX_FLOWS, onEvict: () => void = () => {}): FlowStore {
  if (!Number.isInteger(maxFlows) || maxFlows < 1) throw new Error(`flow store: maxFlows must be a whole number of at least 1, got ${maxFlows}`);
  // A Map keeps insertion order: a flow seen again is moved to the end, so the first entry is the least recent.
  const flows = new Map<string, StoredFlow>();
  let evicted = 0;
  return {
    add(record) {
      if (record.verdict !== 'allowed') return;
      const key = flowKey(record);
      const at = Date.parse(record.time);
      const known = flows.get(key);
      if (known) {
        flows.delete(key);
        // Records can arrive out of order (two readers, a kernel queue): last seen never moves back.
        const latest = at >= known.lastSeenMs;
        flows.set(key, {
          record: latest ? record : known.record,
          firstSeenMs: Math.min(known.firstSeenMs, at),
          lastSeenMs: Math.max(known.lastSeenMs, at),
          count: known.count + 1,
        });
        return;
      }
      if (flows.size >= maxFlows) {
        flows.delete(flows.keys().next().value!);
        evicted++;
        onEvict();
      }
      flows.set(key, { record, firstSeenMs: at, lastSeenMs: at, count: 1 });
    },
    flows(query) {
      const found: FlowRecord[] = [];
      for (const flow of flows.values()) {
        if (query.sinceMs !== undefined && flow.lastSeenMs < query.sinceMs) continue;
        if (query.namespace !== undefined && !inNamespace(flow.record, query.namespace)) continue;
        found.push(flow.record);
      }
      return found;
    },
    entries: () => [...flows.values()],
    get size() {
      return flows.size;
    },
    get evicted() {
      return evicted;
    },
  };
}
