// The benchmarks' JSON (a run-all.sh output directory) as the Markdown tables of bench/README.md.
// Run: npx tsx bench/summarize.ts DIRECTORY
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Machine {
  cpus: string;
  memoryGiB: number;
  kernel: string;
  nft: string;
  node: string;
  loadAverage: number[];
}
interface Distribution {
  p50: number;
  p99: number;
  max: number;
}
interface ChangeSummary {
  changes: number;
  totalMs: Distribution;
  snapshotMs: Distribution;
  compileMs: Distribution;
  diffMs: Distribution;
  nftMs: Distribution;
  commandsMedian: number;
}
interface Side {
  perSecond: number;
  p50Us: number;
  p99Us: number;
}
type Mode = 'with' | 'binding' | 'none';
interface Ratio {
  rate: number;
  p50: number;
  p99: number;
}
interface Comparison {
  sides: Record<Mode, Side>;
  ratios: Record<'with/binding' | 'with/none' | 'binding/none', Ratio>;
}
type Paths = Record<'same-node' | 'cross-node', Comparison>;
interface Chain {
  rules: number;
  probeRule: number;
  peerSetAddresses: number;
}

interface CoreVerdicts {
  machine: string;
  pods: number;
  policies: number;
  verdictsPerSecond: number;
  peakRssMiB: number;
}
interface FullSync {
  date: string;
  machine: Machine;
  cluster: { pods: number; policies: number; localPods: number };
  plan: { setElements: number; chains: number; rules: number };
  transaction: { commands: number; bytes: number };
  ms: Record<'snapshot' | 'compile' | 'transaction' | 'nftApplyFresh' | 'total' | 'nftApplyReplacing' | 'warmSnapshotAndCompile', number>;
  memoryMiB: { rssBeforeSync: number; peakRss: number; nftPeakRss: number };
}
interface ChangeLatency {
  machine: Machine;
  cluster: { pods: number; policies: number; localPods: number };
  changesThatLeftTheKernelAsItWas: number;
  all: ChangeSummary;
  byKind: Record<string, ChangeSummary>;
  peakRssMiB: number;
}
interface ConnectionRate {
  machine: Machine;
  loadAverageAtEnd: number[];
  secondsPerRun: number;
  runsPerMode: number;
  wallSeconds: number;
  calibration: Paths;
  points: {
    policies: number;
    pods: number;
    chains: { clientEgress: Chain; localServerIngress: Chain; remoteServerIngress: Chain };
    paths: Paths;
  }[];
}

const directory = process.argv[2];
if (directory === undefined) throw new Error('usage: npx tsx bench/summarize.ts DIRECTORY');
const read = <T>(name: string): T => JSON.parse(readFileSync(join(directory, `${name}.json`), 'utf8')) as T;
const core = read<CoreVerdicts>('core-verdicts');
const full = read<FullSync>('full-sync');
const change = read<ChangeLatency>('change-latency');
const rate = read<ConnectionRate>('connection-rate');

const n = (value: number) => value.toLocaleString('en-US');
const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]) =>
  [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
const load = (machine: Machine) => machine.loadAverage.join(' / ');

const m = full.machine;
const lines: string[] = [];
lines.push(`Measured ${full.date.slice(0, 10)} on ${m.cpus}, ${m.memoryGiB} GiB, kernel ${m.kernel}, ${m.nft}, Node ${m.node}.`);
lines.push(
  `Load average (1/5/15 min) when each started: full-sync ${load(full.machine)}, change-latency ${load(change.machine)}, ` +
    `connection-rate ${load(rate.machine)} (at its end ${rate.loadAverageAtEnd.join(' / ')}).`,
);
lines.push('');
lines.push('**Core verdicts** (`core-verdicts.ts`)');
lines.push('');
lines.push(table(['pods', 'policies', 'verdicts/s', 'peak RSS'], [[n(core.pods), n(core.policies), n(core.verdictsPerSecond), `${core.peakRssMiB} MiB`]]));
lines.push('');
lines.push(`**Full sync** (\`full-sync.ts\`: ${n(full.cluster.pods)} pods, ${n(full.cluster.policies)} policies, ${full.cluster.localPods} local pods)`);
lines.push('');
lines.push(
  table(
    ['snapshot', 'compile', 'transaction', 'nft apply (fresh)', '**total**', 'nft apply (replacing)', 'agent peak RSS', 'nft peak RSS', 'transaction', 'set elements'],
    [
      [
        `${full.ms.snapshot} ms`,
        `${full.ms.compile} ms`,
        `${full.ms.transaction} ms`,
        `${full.ms.nftApplyFresh} ms`,
        `**${full.ms.total} ms**`,
        `${full.ms.nftApplyReplacing} ms`,
        `**${full.memoryMiB.peakRss} MiB**`,
        `${full.memoryMiB.nftPeakRss} MiB`,
        `${n(full.transaction.commands)} commands, ${(full.transaction.bytes / 2 ** 20).toFixed(1)} MiB`,
        n(full.plan.setElements),
      ],
    ],
  ),
);
lines.push('');
lines.push(
  `**Change latency** (\`change-latency.ts\`: ${n(change.all.changes)} changes on ${n(change.cluster.pods)} pods, ` +
    `${n(change.cluster.policies)} policies, ${change.cluster.localPods} local pods; ms p50 / p99; ` +
    `${change.changesThatLeftTheKernelAsItWas} changes needed no nft command; agent peak RSS ${change.peakRssMiB} MiB)`,
);
lines.push('');
const pp = (d: Distribution) => `${d.p50} / ${d.p99}`;
lines.push(
  table(
    ['change', 'count', '**total**', 'snapshot', 'compile', 'diff', 'nft', 'nft commands (median)'],
    [...Object.entries(change.byKind), ['all', change.all] as const].map(([kind, s]) => [
      kind,
      s.changes,
      `**${pp(s.totalMs)}**`,
      pp(s.snapshotMs),
      pp(s.compileMs),
      pp(s.diffMs),
      pp(s.nftMs),
      s.commandsMedian,
    ]),
  ),
);
lines.push('');
lines.push(
  `**Connection rate** (\`connection-rate.ts\`: ${rate.secondsPerRun} s a run, median of ${rate.runsPerMode}; ` +
    `sides *with* (both tables) / *binding* (the binding table only: the target's "without") / *none* (no Bulkhead table); ` +
    `${Math.round(rate.wallSeconds)} s in all)`,
);
lines.push('');
const sidesCell = (c: Comparison, figure: keyof Side) => `${n(c.sides.with[figure])} / ${n(c.sides.binding[figure])} / ${n(c.sides.none[figure])}`;
const pathCells = (c: Comparison) => [
  sidesCell(c, 'perSecond'),
  `**${c.ratios['with/binding'].rate.toFixed(3)}**`,
  c.ratios['with/none'].rate.toFixed(3),
  c.ratios['binding/none'].rate.toFixed(3),
  sidesCell(c, 'p50Us'),
];
const chainCell = (c: Chain) => `${c.probeRule}/${c.rules}`;
const pathHeader = (path: string) => [
  `${path} conn/s (with / binding / none)`,
  '**with ÷ binding**',
  'with ÷ none',
  'binding ÷ none',
  'p50 µs',
];
lines.push(
  table(
    ['policies', 'pod IPs in the peer set', 'rule reached / chain length (client egress, server ingress)', ...pathHeader('same-node'), ...pathHeader('cross-node')],
    [
      ['A/A calibration: no rules on any side', '', '', ...pathCells(rate.calibration['same-node']), ...pathCells(rate.calibration['cross-node'])],
      ...rate.points.map((p) => [
        n(p.policies),
        n(p.chains.clientEgress.peerSetAddresses),
        `${chainCell(p.chains.clientEgress)}, ${chainCell(p.chains.localServerIngress)}`,
        ...pathCells(p.paths['same-node']),
        ...pathCells(p.paths['cross-node']),
      ]),
    ],
  ),
);
console.log(lines.join('\n'));
