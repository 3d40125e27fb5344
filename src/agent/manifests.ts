// The cluster as manifest files say it, until the watch layer exists. One rule sets this apart from the CLI's
// loading: a file that stops parsing must not open anything, so its last good text stays in force until it
// parses again (a default-deny must not vanish because of a typo).
import { createHash } from 'node:crypto';
import { relative } from 'node:path';
import { compareText, type LoadOptions, type LoadResult, parseManifests, policyKey, readManifests, type ValidationError } from '../model/index.js';

/** One manifest file as read from disk: its text, or why it could not be read. */
export type ManifestFileRead =
  | { readonly path: string; readonly text: string }
  | { readonly path: string; readonly unreadable: string };

/** A file whose current content is not used. */
export interface RejectedManifest {
  readonly path: string;
  /** What is wrong with it now (a YAML error, an object dropped), as the loader names it. */
  readonly errors: readonly ValidationError[];
  /** True when its last good text is used instead; false when it never parsed (its valid objects are used). */
  readonly keptLastGood: boolean;
}

export interface ManifestAcceptance {
  /** Path -> the text in force, in path order. */
  readonly accepted: ReadonlyMap<string, string>;
  readonly rejected: readonly RejectedManifest[];
}

/**
 * Decides which text of each file is in force. A file whose text changed is taken when everything wrong in it
 * still reaches the cluster as an object (invalid policies do: they fail closed); when something would be dropped
 * instead (a YAML syntax error, a pod or namespace that does not validate), the last good text stays. A file
 * seen for the first time has no last good text: its valid objects are used. A deleted file is gone.
 */
export function acceptManifests(previous: ReadonlyMap<string, string>, files: readonly ManifestFileRead[], options: LoadOptions): ManifestAcceptance {
  const accepted = new Map<string, string>();
  const rejected: RejectedManifest[] = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const lastGood = previous.get(file.path);
    if ('text' in file && file.text === lastGood) {
      accepted.set(file.path, file.text);
      continue;
    }
    const damage = 'text' in file ? droppedObjectErrors(file.path, file.text, options) : [unreadableError(file.path, file.unreadable)];
    if (damage.length === 0 && 'text' in file) {
      accepted.set(file.path, file.text);
    } else if (lastGood !== undefined) {
      accepted.set(file.path, lastGood);
      rejected.push({ path: file.path, errors: damage, keptLastGood: true });
    } else {
      if ('text' in file) accepted.set(file.path, file.text);
      rejected.push({ path: file.path, errors: damage, keptLastGood: false });
    }
  }
  return { accepted, rejected };
}

/** The cluster the accepted texts describe, parsed together (as `kubectl apply -f DIR` reads them). */
export function clusterFromManifests(acceptance: ManifestAcceptance, options: LoadOptions): LoadResult {
  return parseManifests([...acceptance.accepted].map(([source, text]) => ({ source, text })), options);
}

/**
 * What the agent logs with each sync, so that whoever writes the directory can tell when an exact state is
 * enforced: SHA-256 over the texts in force with their paths relative to `directory`, in path order. A writer
 * that knows what it wrote computes the same value without reading the agent's mind.
 */
export function manifestsDigest(directory: string, accepted: ReadonlyMap<string, string>): string {
  const entries = [...accepted].map(([path, text]) => [relative(directory, path), text] as const);
  entries.sort(([a], [b]) => compareText(a, b));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** Errors of a file that do not arrive as a fail-closed policy: objects they concern are missing. */
function droppedObjectErrors(path: string, text: string, options: LoadOptions): ValidationError[] {
  const result = parseManifests([{ source: path, text }], options);
  const failingClosed = new Set(result.policies.filter((p) => p.errors.length > 0).map((p) => `NetworkPolicy ${policyKey(p)}`));
  return result.errors.filter((error) => !failingClosed.has(error.object));
}

function unreadableError(path: string, message: string): ValidationError {
  return { object: `file ${path}`, field: '', message, source: path };
}

/**
 * The manifest files under `directory`, found and read by the model's own reader (as `bulkhead simulate -f DIR`
 * reads them). Rejects when the directory does not exist.
 */
export async function readManifestDirectory(directory: string): Promise<ManifestFileRead[]> {
  const { manifests, errors } = await readManifests([directory]);
  return [
    ...manifests.map(({ source, text }) => ({ path: source, text })),
    ...errors.map((error) => ({ path: error.source ?? error.object, unreadable: error.message })),
  ];
}
