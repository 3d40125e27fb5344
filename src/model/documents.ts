// Manifest text -> the Kubernetes objects in it: YAML streams (JSON is YAML), lists expanded to their items.
import { LineCounter, parseAllDocuments, type Tags } from 'yaml';
import { describeType, indexPath } from './field-issues.js';
import type { ValidationError } from './types.js';

export interface ManifestText {
  /** Where the text came from (a file path); errors and warnings carry it. */
  readonly source: string;
  readonly text: string;
}

/** One object of a manifest, not yet read beyond its kind. */
export interface ManifestObject {
  readonly source: string;
  readonly kind: string;
  readonly apiVersion: unknown;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface ManifestDocuments {
  readonly objects: readonly ManifestObject[];
  readonly errors: readonly ValidationError[];
  readonly warnings: readonly ValidationError[];
}

/**
 * kubectl reads YAML 1.1 (go-yaml v2), so `on`, `yes` and `y` are booleans there, and a label written
 * `enabled: on` is rejected. We read the same way so that what passes here passes there. go-yaml v2 leaves
 * timestamps and 1:30-style sexagesimals as strings, so those YAML 1.1 tags are dropped.
 */
function kubectlTags(tags: Tags): Tags {
  return tags.filter((tag) =>
    typeof tag === 'string'
      ? !['timestamp', 'intTime', 'floatTime'].includes(tag)
      : tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME',
  );
}

// Enough for any real manifest; stops billion-laughs alias bombs.
const MAX_ALIAS_COUNT = 100;

export function readDocuments(manifest: ManifestText): ManifestDocuments {
  const errors: ValidationError[] = [];
  const warnings: ValidationError[] = [];
  const objects: ManifestObject[] = [];
  const fileObject = `file ${manifest.source}`;
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(manifest.text, { version: '1.1', customTags: kubectlTags, lineCounter });

  for (const [i, document] of Array.from(documents).entries()) {
    const where = `document ${i + 1}`;
    for (const warning of document.warnings) {
      warnings.push({ object: fileObject, field: '', message: `${where}: ${firstLine(warning.message)}`, source: manifest.source });
    }
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        errors.push({ object: fileObject, field: '', message: `${where}: YAML syntax error: ${firstLine(error.message)}`, source: manifest.source });
      }
      continue;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      errors.push({ object: fileObject, field: '', message: `${where}: ${(error as Error).message}`, source: manifest.source });
      continue;
    }
    // Empty documents (a trailing `---`, only comments) are skipped, as kubectl skips them.
    if (value === null || value === undefined) continue;
    const line = lineCounter.linePos(document.contents?.range[0] ?? document.range[0]).line;
    const found = collectObjects(value, { source: manifest.source, where: `${where} (line ${line})`, field: '' });
    objects.push(...found.objects);
    errors.push(...found.errors);
  }
  return { objects, errors, warnings };
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}

interface Context {
  readonly source: string;
  readonly where: string;
  /** Path inside the document when nested in a list: `items[3]`. */
  readonly field: string;
}

function collectObjects(value: unknown, context: Context): { objects: ManifestObject[]; errors: ValidationError[] } {
  const fail = (message: string) => ({
    objects: [],
    errors: [{ object: `file ${context.source}`, field: context.field, message: `${context.where}: ${message}`, source: context.source }],
  });
  if (!isMapping(value)) {
    return fail(`not a Kubernetes object: expected a mapping with apiVersion and kind, got ${describeType(value)}`);
  }
  const kind = value['kind'];
  if (typeof kind !== 'string' || kind === '') {
    return fail('not a Kubernetes object: it has no kind');
  }
  if (!isListKind(kind)) {
    return { objects: [{ source: context.source, kind, apiVersion: value['apiVersion'], body: value }], errors: [] };
  }

  const items = value['items'] ?? [];
  if (!Array.isArray(items)) return fail(`${kind}.items must be a list, not ${describeType(items)}`);
  const result: { objects: ManifestObject[]; errors: ValidationError[] } = { objects: [], errors: [] };
  for (const [i, item] of items.entries()) {
    const found = collectObjects(typedListItem(kind, value['apiVersion'], item), {
      ...context,
      field: indexPath(context.field === '' ? 'items' : `${context.field}.items`, i),
    });
    result.objects.push(...found.objects);
    result.errors.push(...found.errors);
  }
  return result;
}

/** `List`, and the typed lists the API returns (`PodList`, `NetworkPolicyList`...). */
function isListKind(kind: string): boolean {
  return kind.endsWith('List');
}

/**
 * The API server leaves kind and apiVersion out of the items of a typed list (`kubectl get pods -o json` puts
 * them back, a raw API response does not); they are the list's own, minus `List`.
 */
function typedListItem(listKind: string, listApiVersion: unknown, item: unknown): unknown {
  if (listKind === 'List' || !isMapping(item)) return item;
  return {
    ...item,
    kind: item['kind'] ?? listKind.slice(0, -'List'.length),
    apiVersion: item['apiVersion'] ?? listApiVersion,
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
