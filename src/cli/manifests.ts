import { DEFAULT_POD_CIDRS, loadManifests } from '../model/index.js';
import type { ValidationError } from '../model/types.js';
import { buildSnapshot, type Snapshot } from '../snapshot/snapshot.js';
import { UsageError } from './args.js';

export interface ManifestOptions {
  readonly file: string[];
  readonly namespace: string;
  readonly podCidr: string[];
}

export interface LoadedManifests {
  readonly snapshot: Snapshot;
  readonly errors: readonly ValidationError[];
}

export async function loadSnapshot(options: ManifestOptions): Promise<LoadedManifests> {
  const podCidrs = options.podCidr.length > 0 ? options.podCidr : [...DEFAULT_POD_CIDRS];
  const loaded = await loadManifests(options.file, { defaultNamespace: options.namespace, podCidrs }).catch(
    (error: unknown) => {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    },
  );
  return { snapshot: buildSnapshot(loaded), errors: loaded.errors };
}

/** `error: policies.yaml: NetworkPolicy prod/allow-db: spec.ingress[0].ports[0].port: must be 1-65535` */
export function formatValidationError(error: ValidationError): string {
  const where = [error.source, error.object, error.field].filter((part) => part).join(': ');
  return `error: ${where}: ${error.message}`;
}
