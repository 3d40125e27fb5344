// From flow records to the connections a namespace really has: allowed records only, each connection once
// (the source node and the destination node may both report it), ends resolved against the cluster's objects.
import ipaddr from 'ipaddr.js';
import { compareText } from '../model/text-order.js';
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
  interface Seen {
    readonly from: FlowEnd;
    readonly to: FlowEnd;
    readonly port: number;
    readonly protocol: Protocol;
    records: number;
    first: { readonly at: number; readonly text: string };
    last: { readonly at: number; readonly text: string };
  }
  const byConnection = new Map<string, Seen>();
  const unknownPods = new Set<string>();
  // Many records name the same few ends: resolve each text once.
  const ends = new Map<string, FlowEnd | undefined>();
  const resolve = (text: string) => {
    if (!ends.has(text)) ends.set(text, resolveEnd(snapshot, text));
    return ends.get(text);
  };
  let skippedByVerdict = 0;
  for (const record of records) {
    const at = Date.parse(record.time);
    if (selection.since !== undefined && at < selection.since) continue;
    if (record.verdict !== 'allowed') {
      skippedByVerdict++;
      continue;
    }
    const from = resolve(record.from);
    const to = resolve(record.to);
    if (from === undefined || to === undefined) {
      if ([record.from, record.to].some((text) => text.startsWith(`${selection.namespace}/`))) {
        if (from === undefined) unknownPods.add(record.from);
        if (to === undefined) unknownPods.add(record.to);
      }
      continue;
    }
    if (!isInNamespace(from, selection.namespace) && !isInNamespace(to, selection.namespace)) continue;
    const key = `${endKey(from)} ${endKey(to)} ${record.port}/${record.protocol}`;
    const time = { at, text: record.time };
    const seen = byConnection.get(key);
    if (seen === undefined) {
      byConnection.set(key, { from, to, port: record.port, protocol: record.protocol, records: 1, first: time, last: time });
      continue;
    }
    seen.records++;
    if (at < seen.first.at) seen.first = time;
    if (at > seen.last.at) seen.last = time;
  }
  const flows = [...byConnection.values()].map(
    (seen): ObservedFlow => ({
      from: seen.from,
      to: seen.to,
      port: seen.port,
      protocol: seen.protocol,
      records: seen.records,
      firstSeen: seen.first.text,
      lastSeen: seen.last.text,
    }),
  );
  // Sort keys computed once: comparing addresses parses them, and there may be many thousands of flows.
  const keyed = flows.map((flow) => ({ flow, key: flowOrderKey(flow) }));
  keyed.sort((a, b) => compareText(a.key, b.key));
  return { flows: keyed.map(({ flow }) => flow), unknownPods: [...unknownPods].sort(), skippedByVerdict };
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
function endName(end: FlowEnd): string {
  return end.kind === 'pod' ? podKey(end.pod) : end.ip;
}

function endKey(end: FlowEnd): string {
  return `${end.kind}:${endName(end)}`;
}

export function flowName(flow: ObservedFlow): string {
  return `${endName(flow.from)} -> ${endName(flow.to)} ${flow.port}/${flow.protocol}`;
}

/**
 * Flows in order of source, destination, protocol, port: pods before addresses, pods by ns/name, addresses by
 * family then numerically. NUL separates the parts, so a shorter part sorts first as it would alone.
 */
function flowOrderKey(flow: ObservedFlow): string {
  return [endOrderKey(flow.from), endOrderKey(flow.to), flow.protocol, String(flow.port).padStart(5, '0')].join('\0');
}

function endOrderKey(end: FlowEnd): string {
  return end.kind === 'pod' ? `0${podKey(end.pod)}` : `1${addressOrderKey(end.ip)}`;
}

/** Family, then the address bytes in hex: text order is numeric order. */
function addressOrderKey(ip: string): string {
  const bytes = ipaddr.parse(ip).toByteArray();
  return `${bytes.length === 4 ? 4 : 6}${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function compareAddresses(a: string, b: string): number {
  return compareText(addressOrderKey(a), addressOrderKey(b));
}
