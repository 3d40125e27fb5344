import { PROTOCOLS, type Protocol } from '../model/types.js';
import type { PortRange, PortResolution } from '../policy/index.js';
import { type Expression, type Statement, dport, l4proto, match } from './nft-json.js';
import { protocolName } from './set-catalog.js';

/**
 * Alternatives (OR) of statement lists (AND) that match a rule's ports once each entry is resolved for the
 * destination. `[[]]`: every port (empty `ports`); `[]`: nothing (every entry is a named port the destination
 * does not declare). Whole-protocol entries become `meta l4proto { ... }`; ranges, merged per protocol, one
 * `meta l4proto . th dport { tcp . 80, udp . 53, tcp . 8000-9000 }` (th dport reads TCP, UDP and SCTP alike).
 */
export function portAlternatives(resolutions: readonly PortResolution[] | 'every-port'): Statement[][] {
  if (resolutions === 'every-port') return [[]];
  const wholeProtocols = new Set<Protocol>();
  const ranges: PortRange[] = [];
  for (const resolution of resolutions) {
    switch (resolution.kind) {
      case 'all-ports':
        wholeProtocols.add(resolution.protocol);
        break;
      case 'range':
        ranges.push(resolution.range);
        break;
      case 'unresolved':
        break;
      default: {
        const unreachable: never = resolution;
        return unreachable;
      }
    }
  }
  const alternatives: Statement[][] = [];
  const protocols = PROTOCOLS.filter((p) => wholeProtocols.has(p)).map(protocolName);
  if (protocols.length > 0) {
    alternatives.push([match(l4proto, protocols.length === 1 ? protocols[0]! : { set: protocols })]);
  }
  const merged = PROTOCOLS.filter((p) => !wholeProtocols.has(p)).flatMap((protocol) =>
    mergeRanges(ranges.filter((r) => r.protocol === protocol)),
  );
  if (merged.length > 0) {
    const elements = merged.map(
      (r): Expression => ({ concat: [protocolName(r.protocol), r.first === r.last ? r.first : { range: [r.first, r.last] }] }),
    );
    alternatives.push([match({ concat: [l4proto, dport] }, { set: elements })]);
  }
  return alternatives;
}

/** Sorted, with overlapping or touching ranges joined: an interval set refuses overlaps. */
function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first || a.last - b.last);
  const merged: PortRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.first <= last.last + 1) merged[merged.length - 1] = { ...last, last: Math.max(last.last, range.last) };
    else merged.push(range);
  }
  return merged;
}
