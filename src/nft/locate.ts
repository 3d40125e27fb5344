// nft 1.0.6 does not say which command of a JSON batch failed. A batch is evaluated and committed in order, so
// the first failing command is the end of the shortest failing prefix: found by bisection over dry runs
// (`nft -c`), about log2(n) of them, only after a failure.

/** Whether a dry run of the first `length` commands fails. */
export type PrefixCheck = (length: number) => Promise<boolean>;

export type FailureLocation =
  /** The command at `index` fails against the current ruleset, whatever is retried. */
  | { readonly kind: 'command'; readonly index: number }
  /** The whole transaction passes a dry run: the failure was transient (or only the real commit fails). */
  | { readonly kind: 'not-reproduced' };

export async function locateFailure(commandCount: number, fails: PrefixCheck): Promise<FailureLocation> {
  if (commandCount === 0 || !(await fails(commandCount))) return { kind: 'not-reproduced' };
  // Invariant: the prefix of length `high` fails, every prefix shorter than `low` passes.
  let low = 1;
  let high = commandCount;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await fails(middle)) high = middle;
    else low = middle + 1;
  }
  return { kind: 'command', index: high - 1 };
}
