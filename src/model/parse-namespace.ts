import type { ManifestObject } from './documents.js';
import { type FieldIssue, Findings } from './field-issues.js';
import { readObjectMeta } from './object-meta.js';
import { METADATA_NAME_LABEL, type Labels, type Namespace, type ValidationError } from './types.js';

export interface NamespaceReading {
  /** Undefined when invalid; something referring to it then gets an implicit namespace instead. */
  readonly namespace: Namespace | undefined;
  readonly errors: readonly ValidationError[];
  readonly warnings: readonly ValidationError[];
}

/** The API server sets kubernetes.io/metadata.name on every namespace, over any value the user gave. */
export function namespaceLabels(name: string, labels: Labels): Labels {
  return { ...labels, [METADATA_NAME_LABEL]: name };
}

export function implicitNamespace(name: string): Namespace {
  return { name, labels: namespaceLabels(name, {}), implicit: true };
}

export function readNamespace(object: ManifestObject, apiVersionIssue: FieldIssue | undefined): NamespaceReading {
  const findings = new Findings();
  if (apiVersionIssue) findings.errors.push(apiVersionIssue);
  const meta = readObjectMeta(object.body['metadata'], { name: 'dns1123-label', namespaced: false, defaultNamespace: '' });
  findings.errors.push(...meta.issues);
  const given = meta.labels?.[METADATA_NAME_LABEL];
  if (meta.name !== undefined && given !== undefined && given !== meta.name) {
    findings.warn('metadata.labels', `label ${METADATA_NAME_LABEL}=${given} is replaced by ${meta.name}, as the API server does`);
  }
  const attribute = (issues: readonly FieldIssue[]) =>
    issues.map((issue) => ({ object: `Namespace ${meta.name ?? '?'}`, field: issue.field, message: issue.message, source: object.source }));
  const namespace =
    findings.errors.length === 0 && meta.name !== undefined && meta.labels !== undefined
      ? {
          name: meta.name,
          labels: namespaceLabels(meta.name, meta.labels),
          implicit: false,
          ...(meta.annotations !== undefined && Object.keys(meta.annotations).length > 0 ? { annotations: meta.annotations } : {}),
        }
      : undefined;
  return { namespace, errors: attribute(findings.errors), warnings: attribute(findings.warnings) };
}
