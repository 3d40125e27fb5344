// The reachability each step of examples/ must give, read from the example itself: `expected.txt` in a step
// directory holds the matrix of that step on every pod's declared ports (the example's own `expected.txt`, the
// matrix without any policy), and `expected-probes.txt` the matrix of the README's command where it probes
// other ports or addresses. The unit and the dataplane tests both check these files.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Grid, parseGrid } from './grid.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export type ExampleGridFile = 'expected.txt' | 'expected-probes.txt';

/**
 * The grid of examples/<example>/steps/<step>/<file>, or of examples/<example>/<file> for no step. Steps that build
 * on earlier ones keep the matrix of all of them in their own, last directory.
 */
export function exampleGrid(example: string, step: string | undefined, file: ExampleGridFile = 'expected.txt'): Grid {
  const path = join(REPO, 'examples', example, ...(step === undefined ? [] : ['steps', step]), file);
  return parseGrid(readFileSync(path, 'utf8'), relative(REPO, path));
}
