// Problems found on every loop (a broken file, a pod without binding) are logged when they appear, not on every
// loop: each finding has a key, and only keys not seen on the previous loop are new.

export interface FindingsChange<T> {
  /** Findings not present last time, in the order given. */
  readonly appeared: readonly T[];
  /** Keys present last time and gone now. */
  readonly resolved: readonly string[];
  /** The keys to compare the next loop with. */
  readonly current: ReadonlySet<string>;
}

export function findingsChange<T>(previous: ReadonlySet<string>, findings: readonly T[], key: (finding: T) => string): FindingsChange<T> {
  const current = new Set<string>();
  const appeared: T[] = [];
  for (const finding of findings) {
    const k = key(finding);
    if (current.has(k)) continue;
    current.add(k);
    if (!previous.has(k)) appeared.push(finding);
  }
  return { appeared, resolved: [...previous].filter((k) => !current.has(k)), current };
}

/** Hands each finding of `topic` to `logOne` once, when it appears (it is new since the last call for the topic). */
export type ReportFindings = <T>(topic: string, findings: readonly T[], key: (finding: T) => string, logOne: (finding: T) => void) => void;

export function findingsReporter(): ReportFindings {
  const reported = new Map<string, ReadonlySet<string>>();
  return (topic, findings, key, logOne) => {
    const change = findingsChange(reported.get(topic) ?? new Set(), findings, key);
    reported.set(topic, change.current);
    change.appeared.forEach(logOne);
  };
}
