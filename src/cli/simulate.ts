import { ipFamily } from '../model/addresses.js';
import type { Pod, Protocol } from '../model/types.js';
import { podKey } from '../model/types.js';
import {
  type ConnectionVerdict,
  type Probe,
  compareProbes,
  connectionVerdict,
  declaredProbes,
  firstAddresses,
  podAddresses,
  podEndpoint,
  sortedPods,
} from '../policy/index.js';
import type { Snapshot } from '../snapshot/snapshot.js';

/** One row of `simulate -o json`: a stable contract. `to` is the IP for external hosts. */
export interface SimulationResult extends ConnectionVerdict {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface SimulationInput {
  /** Explicit probes for every destination; when empty, each destination's declared container ports. */
  readonly probes: readonly Probe[];
  readonly externalIPs: readonly string[];
}

export function probeName(probe: Probe): string {
  return `${probe.port}/${probe.protocol}`;
}

/** The probes a destination pod is tested on (external hosts declare nothing: they take the explicit probes only). */
function probesFor(destination: Pod, input: SimulationInput): readonly Probe[] {
  return input.probes.length > 0 ? input.probes : declaredProbes(destination);
}

/** The reachability matrix as results: every pod pair (and pod -> each external IP) for each probe. */
export function simulate(snapshot: Snapshot, input: SimulationInput): SimulationResult[] {
  const pods = sortedPods(snapshot);
  const results: SimulationResult[] = [];
  for (const from of pods) {
    for (const to of pods) {
      const addresses = podAddresses(from, to);
      if (!addresses) continue;
      for (const probe of probesFor(to, input)) {
        const conn = { from: podEndpoint(from, addresses.fromIP), to: podEndpoint(to, addresses.toIP), ...probe };
        results.push({ from: podKey(from), to: podKey(to), ...probe, ...connectionVerdict(snapshot, conn) });
      }
    }
    for (const ip of input.externalIPs) {
      const fromIP = firstAddresses(from)[ipFamily(ip)];
      if (!fromIP) continue;
      for (const probe of input.probes) {
        const conn = { from: podEndpoint(from, fromIP), to: { kind: 'external', ip } as const, ...probe };
        results.push({ from: podKey(from), to: ip, ...probe, ...connectionVerdict(snapshot, conn) });
      }
    }
  }
  return results;
}

export function renderJson(results: readonly SimulationResult[]): string {
  const ordered = results.map(({ from, to, port, protocol, allowed, audit, egress, ingress }) => ({
    from,
    to,
    port,
    protocol,
    allowed,
    ...(audit ? { audit } : {}),
    egress,
    ingress,
  }));
  return JSON.stringify({ results: ordered }, null, 2);
}

/**
 * One matrix per probe: rows are sources, columns destinations, numbered with a legend so the table stays
 * readable at dozens of pods. `.` allowed, `X` denied, `A` allowed but audit-mode policies would deny it, `-` not
 * probed (the destination does not declare the port).
 */
export function renderTable(results: readonly SimulationResult[]): string {
  const probes = new Map<string, Probe>();
  for (const r of results) probes.set(probeName(r), { port: r.port, protocol: r.protocol });
  const sources = unique(results.map((r) => r.from));
  const destinations = unique(results.map((r) => r.to));
  const cell = new Map(results.map((r) => [`${probeName(r)} ${r.from} ${r.to}`, r.audit ? 'A' : r.allowed ? '.' : 'X']));
  const audited = results.filter((r) => r.audit).length;

  const width = String(destinations.length).length;
  const nameWidth = Math.max(...sources.map((s) => s.length), 4);
  const out: string[] = ['Destinations:'];
  destinations.forEach((d, i) => out.push(`  ${String(i + 1).padStart(width)}  ${d}`));
  out.push('', `Legend: '.' allowed  'X' denied  ${audited > 0 ? "'A' allowed, audit policies would deny it  " : ''}'-' not probed (port not declared by the destination)`);
  for (const probe of [...probes.values()].sort(compareProbes)) {
    const name = probeName(probe);
    out.push('', `Probe ${name}`);
    out.push(`${'from \\ to'.padEnd(nameWidth)}  ${destinations.map((_, i) => String(i + 1).padStart(width)).join(' ')}`);
    for (const from of sources) {
      const marks = destinations.map((to) => {
        return (cell.get(`${name} ${from} ${to}`) ?? '-').padStart(width);
      });
      out.push(`${from.padEnd(nameWidth)}  ${marks.join(' ')}`);
    }
  }
  const denied = results.filter((r) => !r.allowed).length;
  const auditNote = audited > 0 ? ` (${audited} of them audit: audit-mode policies would deny them)` : '';
  out.push('', `${results.length} connections: ${results.length - denied} allowed${auditNote}, ${denied} denied`);
  return out.join('\n');
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
