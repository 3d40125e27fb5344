// Label and label selector syntax, as the API server checks it (IsQualifiedName, IsValidLabelValue,
// ValidateLabels, ValidateLabelSelector). Matching pods against selectors is policy/'s business, not this file's.
import { z } from 'zod';
import {
  type FieldIssue,
  type Parsed,
  childPath,
  describeType,
  indexPath,
  invalidValue,
  readStructure,
  REQUIRED_VALUE,
} from './field-issues.js';
import { dns1123SubdomainErrors, maxLengthError } from './names.js';
import type { LabelSelector, LabelSelectorRequirement, Labels, SelectorOperator } from './types.js';

const LABEL_PART_MAX = 63;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_CHARSET =
  "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** `{}`: selects everything. */
export const SELECT_ALL: LabelSelector = Object.freeze({
  matchLabels: Object.freeze({}),
  matchExpressions: Object.freeze([]),
});

/** A label key: `name` or `prefix/name`, the prefix a DNS subdomain (IsQualifiedName). */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name must ${LABEL_CHARSET} (e.g. 'MyName', or 'my.name', or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const errors: string[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') errors.push('prefix part must be non-empty');
    else errors.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (name.length > LABEL_PART_MAX) errors.push(`name part ${maxLengthError(LABEL_PART_MAX)}`);
  if (!LABEL_NAME.test(name)) errors.push(`name part must ${LABEL_CHARSET} (e.g. 'MyName', or 'my.name', or '123-abc')`);
  return errors;
}

export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > LABEL_PART_MAX) errors.push(maxLengthError(LABEL_PART_MAX));
  if (!LABEL_VALUE.test(value)) {
    errors.push(`a valid label must be an empty string or ${LABEL_CHARSET} (e.g. 'MyValue', or 'my_value', or '12345')`);
  }
  return errors;
}

/**
 * A label map (metadata.labels, matchLabels). Like ValidateLabels, every problem is reported at the map's own
 * path, the message naming the offending key or value. Absent or null is the empty map.
 */
export function readLabels(raw: unknown, path: string): Parsed<Labels> {
  const entries = readStringMap(raw, path, 'label');
  const issues = [...entries.issues];
  for (const [key, value] of entries.value ?? []) {
    issues.push(...labelKeyErrors(key).map((e) => ({ field: path, message: invalidValue(key, e) })));
    issues.push(...labelValueErrors(value).map((e) => ({ field: path, message: invalidValue(value, e) })));
  }
  return issues.length > 0 ? { value: undefined, issues } : { value: Object.fromEntries(entries.value ?? []), issues };
}

/**
 * A `map[string]string` as YAML gave it. A bare `true`, `1` or `on` is not a string for kubectl either (it
 * reads YAML 1.1), which is why the message suggests quoting.
 */
export function readStringMap(raw: unknown, path: string, what: string): Parsed<[string, string][]> {
  if (raw === undefined || raw === null) return { value: [], issues: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { value: undefined, issues: [{ field: path, message: `must be a mapping, not ${describeType(raw)}` }] };
  }
  const issues: FieldIssue[] = [];
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') entries.push([key, value]);
    else {
      issues.push({
        field: path,
        message: `Invalid value: ${JSON.stringify(value)}: ${what} "${key}" must be a string, not ${describeType(value)} (quote it in YAML)`,
      });
    }
  }
  return issues.length > 0 ? { value: undefined, issues } : { value: entries, issues };
}

const requirementStructure = z.strictObject({
  key: z.string(),
  operator: z.string(),
  values: z.array(z.string()).nullish(),
});

const selectorStructure = z.strictObject({
  matchLabels: z.unknown().optional(),
  matchExpressions: z.array(requirementStructure).nullish(),
});

/** A metav1.LabelSelector. Absent or null reads as `{}` (Go's zero value); callers that care test first. */
export function readLabelSelector(raw: unknown, path: string): Parsed<LabelSelector> {
  const structure = readStructure(selectorStructure, raw ?? {}, path);
  if (structure.value === undefined) return { value: undefined, issues: structure.issues };
  const matchLabels = readLabels(structure.value.matchLabels, childPath(path, 'matchLabels'));
  const issues: FieldIssue[] = [...matchLabels.issues];
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const [i, requirement] of (structure.value.matchExpressions ?? []).entries()) {
    const read = readRequirement(requirement, indexPath(childPath(path, 'matchExpressions'), i));
    issues.push(...read.issues);
    if (read.value) matchExpressions.push(read.value);
  }
  if (issues.length > 0 || matchLabels.value === undefined) return { value: undefined, issues };
  return { value: { matchLabels: matchLabels.value, matchExpressions }, issues };
}

function readRequirement(raw: z.infer<typeof requirementStructure>, path: string): Parsed<LabelSelectorRequirement> {
  const issues: FieldIssue[] = [];
  const values = raw.values ?? [];
  const operator = SELECTOR_OPERATORS.find((op) => op === raw.operator);
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) {
        issues.push({ field: childPath(path, 'values'), message: `${REQUIRED_VALUE}: must be specified when \`operator\` is 'In' or 'NotIn'` });
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) {
        issues.push({ field: childPath(path, 'values'), message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" });
      }
      break;
    case undefined:
      issues.push({ field: childPath(path, 'operator'), message: invalidValue(raw.operator, 'not a valid selector operator') });
      break;
    default: {
      const unreachable: never = operator;
      return unreachable;
    }
  }
  issues.push(...labelKeyErrors(raw.key).map((e) => ({ field: childPath(path, 'key'), message: invalidValue(raw.key, e) })));
  for (const [i, value] of values.entries()) {
    const field = indexPath(childPath(path, 'values'), i);
    issues.push(...labelValueErrors(value).map((e) => ({ field, message: invalidValue(value, e) })));
  }
  if (issues.length > 0 || operator === undefined) return { value: undefined, issues };
  return { value: { key: raw.key, operator, values }, issues };
}
