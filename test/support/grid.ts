// Hand-written reachability grids: a header of column names (a destination and a probe each), then one row per
// source, its name followed by a mark a column, '.' for allowed and 'X' for denied. Lines starting with '#' are
// comments. A test reads a grid against the row and column names it knows, and the grid must cover them exactly,
// so a forgotten pod or port is an error rather than a silent gap.

export interface Grid {
  /** Where the grid was written, for errors. */
  readonly source: string;
  readonly columns: readonly string[];
  /** Row name -> one mark a column, true for allowed. */
  readonly rows: ReadonlyMap<string, readonly boolean[]>;
}

export interface GridCell {
  readonly row: string;
  readonly column: string;
  readonly allowed: boolean;
}

function duplicates(names: readonly string[]): string[] {
  return names.filter((name, i) => names.indexOf(name) !== i);
}

export function parseGrid(text: string, source = 'grid'): Grid {
  const [header, ...lines] = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/));
  if (header === undefined) throw new Error(`${source}: no header line of column names`);
  const rows = new Map<string, boolean[]>();
  for (const [row, ...marks] of lines) {
    if (row === undefined) continue;
    if (marks.length !== header.length || marks.some((m) => m !== '.' && m !== 'X')) {
      throw new Error(`${source}: row ${row}: expected ${header.length} marks of '.' or 'X', got ${marks.join(' ')}`);
    }
    if (rows.has(row)) throw new Error(`${source}: row ${row} given twice`);
    rows.set(row, marks.map((m) => m === '.'));
  }
  const repeated = duplicates(header);
  if (repeated.length > 0) throw new Error(`${source}: columns given twice: ${repeated.join(' ')}`);
  return { source, columns: header, rows };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Every cell, row by row; throws unless the grid has exactly these rows and columns (in any order). */
export function gridCells(grid: Grid, rows: readonly string[], columns: readonly string[]): GridCell[] {
  if (!sameNames(grid.columns, columns)) {
    throw new Error(`${grid.source}: columns ${grid.columns.join(' ')} are not the expected ${columns.join(' ')}`);
  }
  if (!sameNames([...grid.rows.keys()], rows)) {
    throw new Error(`${grid.source}: rows ${[...grid.rows.keys()].join(' ')} are not the expected ${rows.join(' ')}`);
  }
  return [...grid.rows].flatMap(([row, marks]) => marks.map((allowed, i): GridCell => ({ row, column: grid.columns[i]!, allowed })));
}

/** The grid cut down to some of its columns, for a test that can probe only those. */
export function selectColumns(grid: Grid, columns: readonly string[]): Grid {
  const indexes = columns.map((column) => {
    const index = grid.columns.indexOf(column);
    if (index < 0) throw new Error(`${grid.source}: no column ${column}`);
    return index;
  });
  const rows = new Map([...grid.rows].map(([row, marks]) => [row, indexes.map((i) => marks[i]!)] as const));
  return { source: `${grid.source} (columns ${columns.join(' ')})`, columns, rows };
}
