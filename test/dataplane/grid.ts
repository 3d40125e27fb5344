// Hand-written reachability grids for real-packet tests: one row per source, one column per destination and port,
// '.' for a connection that must connect and 'X' for one that must be dropped. A grid must cover its layout
// exactly, so a forgotten pod or port is an error rather than a silent gap.
import type { Protocol } from '../../src/model/index.js';
import { describeProbe, type Origin, type Probe, type ProbeResult, type Target } from './harness.js';

export interface GridColumn {
  readonly to: Target;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface GridLayout {
  /** Short row name -> where probes start. */
  readonly rows: Readonly<Record<string, Origin>>;
  /** Short column name -> destination and port. */
  readonly columns: Readonly<Record<string, GridColumn>>;
}

export interface ExpectedProbe {
  readonly probe: Probe;
  readonly expected: 'connected' | 'timeout';
}

/** The probes a grid stands for, in the given address family; throws on a grid that does not match its layout. */
export function gridProbes(layout: GridLayout, grid: string, family: 4 | 6): ExpectedProbe[] {
  const [header, ...rows] = grid
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
  const columns = header ?? [];
  const layoutColumns = Object.keys(layout.columns);
  if (columns.length !== layoutColumns.length || columns.some((c, i) => c !== layoutColumns[i])) {
    throw new Error(`grid columns ${columns.join(' ')} are not the layout's ${layoutColumns.join(' ')}`);
  }
  const rowNames = rows.map((row) => row[0] ?? '');
  const layoutRows = Object.keys(layout.rows);
  if (rowNames.length !== layoutRows.length || rowNames.some((r, i) => r !== layoutRows[i])) {
    throw new Error(`grid rows ${rowNames.join(' ')} are not the layout's ${layoutRows.join(' ')}`);
  }
  return rows.flatMap(([row, ...marks]) => {
    if (marks.length !== columns.length || marks.some((m) => m !== '.' && m !== 'X')) {
      throw new Error(`grid row ${row}: expected ${columns.length} marks of '.' or 'X', got ${marks.join(' ')}`);
    }
    const from = layout.rows[row ?? ''];
    if (from === undefined) throw new Error(`grid row ${row} is not in the layout`);
    return marks.map((mark, i): ExpectedProbe => {
      const column = layout.columns[columns[i] ?? ''];
      if (column === undefined) throw new Error(`grid column ${columns[i]} is not in the layout`);
      return { probe: { from, to: column.to, port: column.port, protocol: column.protocol, family }, expected: mark === '.' ? 'connected' : 'timeout' };
    });
  });
}

/**
 * Every probe whose kernel outcome or verdict differs from what the test expects, one line each; empty when the
 * kernel, the verdict and the hand-written expectation all agree.
 */
export function disagreements(expected: readonly ExpectedProbe[], results: readonly ProbeResult[]): string[] {
  if (expected.length !== results.length) throw new Error(`${expected.length} expectations for ${results.length} results`);
  return results.flatMap((result, i) => {
    const want = expected[i]?.expected;
    if (result.probe !== expected[i]?.probe) throw new Error('results are not in the order of the expectations');
    return result.outcome === want && result.verdictOutcome === want ? [] : [`expected ${want}: ${describeProbe(result)}`];
  });
}
