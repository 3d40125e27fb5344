// labelSelector and fieldSelector query parameters, read as the API server reads them. Label matching itself is
// src/policy's selectorMatches: the string form is parsed into a metav1.LabelSelector and matched like any other.
import type { LabelSelector, LabelSelectorRequirement } from '../../src/model/types.js';
import { selectorMatches } from '../../src/policy/selector.js';

export type Parsed<T> = { readonly value: T; readonly error?: never } | { readonly value?: never; readonly error: string };

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `app=web,tier!=db,env in (a,b),!legacy,team`: the kubectl form. */
export function parseLabelSelector(text: string): Parsed<LabelSelector> {
  const requirements: LabelSelectorRequirement[] = [];
  for (const part of splitOutsideParentheses(text)) {
    const requirement = parseRequirement(part.trim());
    if ('error' in requirement) return { error: `unable to parse requirement: ${requirement.error}` };
    requirements.push(requirement.value);
  }
  return { value: { matchLabels: {}, matchExpressions: requirements } };
}

function parseRequirement(text: string): { value: LabelSelectorRequirement } | { error: string } {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    return requirement(set[1]!, set[2] === 'in' ? 'In' : 'NotIn', values);
  }
  const equality = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (equality) return requirement(equality[1]!, equality[2] === '!=' ? 'NotIn' : 'In', [equality[3]!]);
  if (text.startsWith('!')) return requirement(text.slice(1).trim(), 'DoesNotExist', []);
  return requirement(text, 'Exists', []);
}

function requirement(key: string, operator: LabelSelectorRequirement['operator'], values: string[]) {
  if (!LABEL_KEY.test(key)) return { error: `invalid label key "${key}"` };
  const bad = values.find((v) => !LABEL_VALUE.test(v));
  if (bad !== undefined) return { error: `invalid label value: "${bad}"` };
  return { value: { key, operator, values } };
}

function splitOutsideParentheses(text: string): string[] {
  if (text.trim() === '') return [];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

export function labelsMatch(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selectorMatches(selector, labels ?? {});
}

export interface FieldRequirement {
  readonly field: string;
  readonly equal: boolean;
  readonly value: string;
}

/** `spec.nodeName=node-a,metadata.namespace!=kube-system`, over the fields the resource supports. */
export function parseFieldSelector(text: string, supported: readonly string[]): Parsed<FieldRequirement[]> {
  const requirements: FieldRequirement[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!match) return { error: `invalid selector: '${text}'; can't understand '${part}'` };
    const field = match[1]!;
    if (!supported.includes(field)) return { error: `field label not supported: ${field}` };
    requirements.push({ field, equal: match[2] !== '!=', value: match[3]! });
  }
  if (requirements.length === 0 && text.trim() !== '') return { error: `invalid selector: '${text}'` };
  return { value: requirements };
}

export function fieldsMatch(requirements: readonly FieldRequirement[], fieldValue: (field: string) => string): boolean {
  return requirements.every((r) => (fieldValue(r.field) === r.value) === r.equal);
}
