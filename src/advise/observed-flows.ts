// From flow records to the connections a namespace really has: allowed records only, each connection once
// (the source node and the destination node may both report it), ends resolved against the cluster's objects.
import ipaddr from 'ipaddr.js';
import { type Pod, type Protocol, podKey } from '../model/types.js';
import { canonicalIP, type Snapshot } from '../snapshot/snapshot.js';
import type { FlowRecord } from './flow-record.js';

/** One end of an observed flow: a pod of the cluster, or an address no (selectable) pod holds. */
export type FlowEnd = { readonly kind: 'pod'; readonly pod: Pod } | { readonly kind: 'ip'; readonly ip: string };

export interface ObservedFlow {
  readonly from: FlowEnd;
  readonly to: FlowEnd;
  readonly port: number;
  readonly protocol: Protocol;
  /** How many allowed records report it. */
  readonly records: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

export interface FlowSelection {
  readonly namespace: string;
  /** Keep records at or after this instant (ms since the epoch); absent: keep all. */
  readonly since?: number;
}

export interface ObservedFlows {
  readonly flows: readonly ObservedFlow[];
  /** Pods named by records that the cluster's objects do not hold: their flows cannot be turned into rules. */
  readonly unknownPods: readonly string[];
  /** Records left out by verdict (only `allowed` ones show traffic the proposal must keep). */
  readonly skippedByVerdict: number;
}

/** The flows of one namespace (an end is a pod of it), deduplicated, in a stable order. */
export function observedFlows(snapshot: Snapshot, records: readonly FlowRecord[], selection: FlowSelection): ObservedFlows {
  const byConnection = new Map<string, { from: FlowEnd; to: FlowEnd; port: number; protocol: Protocol; times: number[]; texts: string[] }>();
  const unknownPods = new Set<string>();
  let skippedByVerdict = 0;
  for (const record of records) {
    const time = Date.parse(record.time);
    if (selection.since !== undefined && time < selection.since) continue;
    if (record.verdict !== 'allowed') {
      skippedByVerdict++;
      continue;
    }
    const from = resolveEnd(snapshot, record.from);
    const to = resolveEnd(snapshot, record.to);
    const touchesNamespace = [record.from, record.to].some((text) => text.startsWith(`${selection.namespace}/`));
    if (from === undefined || to === undefined) {
      if (touchesNamespace) {
        if (from === undefined) unknownPods.add(record.from);
        if (to === undefined) unknownPods.add(record.to);
      }
      continue;
    }
    if (!isInNamespace(from, selection.namespace) && !isInNamespace(to, selection.namespace)) continue;
    const key = `${endKey(from)} ${endKey(to)} ${record.port}/${record.protocol}`;
    const entry = byConnection.get(key) ?? { from, to, port: record.port, protocol: record.protocol, times: [], texts: [] };
    entry.times.push(time);
    entry.texts.push(record.time);
    byConnection.set(key, entry);
  }
  const flows = [...byConnection.values()].map((entry): ObservedFlow => {
    const first = entry.times.indexOf(Math.min(...entry.times));
    const last = entry.times.indexOf(Math.max(...entry.times));
    return {
      from: entry.from,
      to: entry.to,
      port: entry.port,
      protocol: entry.protocol,
      records: entry.times.length,
      firstSeen: entry.texts[first]!,
      lastSeen: entry.texts[last]!,
    };
  });
  return { flows: flows.sort(compareFlows), unknownPods: [...unknownPods].sort(), skippedByVerdict };
}

/** The instant `--since` counts back from: the newest record, so that a recording gives the same answer any day. */
export function newestRecordTime(records: readonly FlowRecord[]): number | undefined {
  let newest: number | undefined;
  for (const record of records) {
    const time = Date.parse(record.time);
    if (newest === undefined || time > newest) newest = time;
  }
  return newest;
}

/**
 * A record's end: `ns/pod` names a pod; an IP names the (non-hostNetwork) pod holding it, else stays an address.
 * hostNetwork pods share their node's address and policies reach them only by ipBlock, so they stay addresses too.
 */
function resolveEnd(snapshot: Snapshot, text: string): FlowEnd | undefined {
  if (ipaddr.isValid(text)) {
    const pod = snapshot.podByIP(text);
    return pod ? { kind: 'pod', pod } : { kind: 'ip', ip: canonicalIP(text) };
  }
  const pod = snapshot.pod(text);
  if (pod === undefined) return undefined;
  if (pod.hostNetwork) {
    const ip = pod.ips[0];
    return ip === undefined ? undefined : { kind: 'ip', ip };
  }
  return { kind: 'pod', pod };
}

export function isInNamespace(end: FlowEnd, namespace: string): end is FlowEnd & { kind: 'pod' } {
  return end.kind === 'pod' && end.pod.namespace === namespace;
}

/** `ns/pod` or the address: how flows are named in comments and reports. */
export function endName(end: FlowEnd): string {
  return end.kind === 'pod' ? podKey(end.pod) : end.ip;
}

function endKey(end: FlowEnd): string {
  return `${end.kind}:${endName(end)}`;
}

export function flowName(flow: ObservedFlow): string {
  return `${endName(flow.from)} -> ${endName(flow.to)} ${flow.port}/${flow.protocol}`;
}

export function compareFlows(a: ObservedFlow, b: ObservedFlow): number {
  return (
    compareEnds(a.from, b.from) ||
    compareEnds(a.to, b.to) ||
    a.protocol.localeCompare(b.protocol) ||
    a.port - b.port
  );
}

// Pods before addresses, pods by ns/name, addresses by family then numerically.
function compareEnds(a: FlowEnd, b: FlowEnd): number {
  if (a.kind === 'pod') return b.kind === 'pod' ? compareText(podKey(a.pod), podKey(b.pod)) : -1;
  return b.kind === 'ip' ? compareAddresses(a.ip, b.ip) : 1;
}

export function compareAddresses(a: string, b: string): number {
  const x = ipaddr.parse(a).toByteArray();
  const y = ipaddr.parse(b).toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Code-point order: the same on every machine, whatever the locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
