// metadata: name, namespace, labels and annotations, as ValidateObjectMeta checks them.
import { z } from 'zod';
import { type FieldIssue, invalidValue, readStructure, REQUIRED_VALUE } from './field-issues.js';
import { labelKeyErrors, readLabels, readStringMap } from './labels.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './names.js';
import type { Labels } from './types.js';

export type NameRule = 'dns1123-subdomain' | 'dns1123-label';

export interface ObjectMeta {
  /** Undefined when absent or not a string. */
  readonly name: string | undefined;
  /** The object's namespace, `defaultNamespace` when it names none; undefined when unreadable. */
  readonly namespace: string | undefined;
  /** Undefined when invalid. */
  readonly labels: Labels | undefined;
  readonly annotations: Labels | undefined;
  readonly issues: readonly FieldIssue[];
}

export interface ObjectMetaRules {
  readonly name: NameRule;
  /** False for cluster-scoped kinds (Namespace), whose metadata.namespace means nothing. */
  readonly namespaced: boolean;
  readonly defaultNamespace: string;
}

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

// Loose on purpose: uid, resourceVersion, managedFields... are legitimate and irrelevant here.
const metadataStructure = z.object({
  name: z.unknown().optional(),
  namespace: z.unknown().optional(),
  labels: z.unknown().optional(),
  annotations: z.unknown().optional(),
});

export function readObjectMeta(raw: unknown, rules: ObjectMetaRules): ObjectMeta {
  const structure = readStructure(metadataStructure, raw ?? {}, 'metadata');
  const fields = structure.value;
  if (fields === undefined) {
    return { name: undefined, namespace: undefined, labels: undefined, annotations: undefined, issues: structure.issues };
  }
  const issues: FieldIssue[] = [];

  const name = typeof fields.name === 'string' && fields.name !== '' ? fields.name : undefined;
  if (fields.name === undefined || fields.name === null || fields.name === '') {
    issues.push({ field: 'metadata.name', message: `${REQUIRED_VALUE}: name or generateName is required` });
  } else if (name === undefined) {
    issues.push({ field: 'metadata.name', message: invalidValue(fields.name, 'must be a string') });
  } else {
    const nameErrors = rules.name === 'dns1123-label' ? dns1123LabelErrors(name) : dns1123SubdomainErrors(name);
    issues.push(...nameErrors.map((e) => ({ field: 'metadata.name', message: invalidValue(name, e) })));
  }

  const namespace = rules.namespaced ? readNamespaceName(fields.namespace, rules.defaultNamespace, issues) : undefined;
  const labels = readLabels(fields.labels, 'metadata.labels');
  const annotations = readAnnotations(fields.annotations);
  issues.push(...labels.issues, ...annotations.issues);
  return { name, namespace, labels: labels.value, annotations: annotations.value, issues };
}

function readNamespaceName(raw: unknown, defaultNamespace: string, issues: FieldIssue[]): string | undefined {
  if (raw === undefined || raw === null || raw === '') return defaultNamespace;
  if (typeof raw !== 'string') {
    issues.push({ field: 'metadata.namespace', message: invalidValue(raw, 'must be a string') });
    return undefined;
  }
  issues.push(...dns1123LabelErrors(raw).map((e) => ({ field: 'metadata.namespace', message: invalidValue(raw, e) })));
  return raw;
}

/** Annotation keys are qualified names compared case-insensitively; values are free text, 256 KiB in all. */
function readAnnotations(raw: unknown): { value: Labels | undefined; issues: FieldIssue[] } {
  const field = 'metadata.annotations';
  const entries = readStringMap(raw, field, 'annotation');
  if (entries.value === undefined) return { value: undefined, issues: [...entries.issues] };
  const issues: FieldIssue[] = [];
  let bytes = 0;
  for (const [key, value] of entries.value) {
    issues.push(...labelKeyErrors(key.toLowerCase()).map((e) => ({ field, message: invalidValue(key, e) })));
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > ANNOTATIONS_MAX_BYTES) {
    issues.push({ field, message: `Too long: may not be more than ${ANNOTATIONS_MAX_BYTES} bytes` });
  }
  return issues.length > 0 ? { value: undefined, issues } : { value: Object.fromEntries(entries.value), issues };
}
