// The cluster as a directory of manifest files says it, reloaded when a file changes. A file that stops
// loading keeps its last good text in force (see manifests.ts).
import type { Logger } from 'pino';
import { DEFAULT_NAMESPACE, DEFAULT_POD_CIDRS, type LoadOptions } from '../model/index.js';
import { watchDirectories } from './directory-watch.js';
import type { ReportFindings } from './findings.js';
import { acceptManifests, clusterFromManifests, manifestsDigest, readManifestDirectory } from './manifests.js';
import type { StateSource } from './state-source.js';

const LOAD_OPTIONS: LoadOptions = { defaultNamespace: DEFAULT_NAMESPACE, podCidrs: DEFAULT_POD_CIDRS };

export function manifestSource(directory: string, onChange: () => void, log: Logger, report: ReportFindings): StateSource {
  const watcher = watchDirectories([directory], onChange, log);
  let accepted: ReadonlyMap<string, string> = new Map();
  return {
    kind: 'manifests',
    read: async () => {
      watcher.ensure();
      let files;
      try {
        files = await readManifestDirectory(directory);
      } catch (error) {
        return { kind: 'failed', object: `directory ${directory}`, error, message: 'cannot read the manifests; the rules in the kernel stay as they are' };
      }
      const acceptance = acceptManifests(accepted, files, LOAD_OPTIONS);
      accepted = acceptance.accepted;
      report('rejected manifests', acceptance.rejected, (r) => JSON.stringify(r), (rejected) =>
        log.error(
          { object: `file ${rejected.path}`, errors: rejected.errors.map((e) => `${e.object}${e.field ? ` ${e.field}` : ''}: ${e.message}`) },
          rejected.keptLastGood
            ? 'manifest file does not load; its last good content stays in force'
            : 'manifest file does not load and has no earlier good content; only its valid objects are used',
        ),
      );
      const cluster = clusterFromManifests(acceptance, LOAD_OPTIONS);
      // A file used despite its errors (it never loaded cleanly) had them logged with its rejection.
      const rejectedPaths = new Set(acceptance.rejected.filter((r) => !r.keptLastGood).map((r) => r.path));
      const loadErrors = cluster.errors.filter((e) => e.source === undefined || !rejectedPaths.has(e.source));
      report('load errors', loadErrors, (e) => JSON.stringify(e), (e) => log.warn({ object: e.object, field: e.field, source: e.source }, e.message));
      report('load warnings', cluster.warnings, (w) => JSON.stringify(w), (w) => log.warn({ object: w.object, field: w.field, source: w.source }, w.message));
      return {
        kind: 'state',
        state: {
          input: { namespaces: cluster.namespaces.filter((n) => !n.implicit), pods: cluster.pods, policies: cluster.policies },
          key: JSON.stringify([...accepted]),
          version: { manifestsDigest: manifestsDigest(directory, accepted) },
        },
      };
    },
    watchStatus: () => undefined,
    close: async () => watcher.close(),
  };
}
