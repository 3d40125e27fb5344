// Reachability grids (test/support/grid.ts) as real-packet probes: '.' a connection that must connect, 'X' one
// that must be dropped. A layout names what each row and column of a grid stands for on the lab.
import type { Protocol } from '../../src/model/index.js';
import { type Grid, gridCells } from '../support/grid.js';
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

/** The probes a grid stands for, in the given address family; throws on a grid that does not cover its layout. */
export function gridProbes(layout: GridLayout, grid: Grid, family: 4 | 6): ExpectedProbe[] {
  return gridCells(grid, Object.keys(layout.rows), Object.keys(layout.columns)).map(({ row, column, allowed }): ExpectedProbe => {
    const { to, port, protocol } = layout.columns[column]!;
    return { probe: { from: layout.rows[row]!, to, port, protocol, family }, expected: allowed ? 'connected' : 'timeout' };
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
