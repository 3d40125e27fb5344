import type { z } from 'zod';

/** A problem at a field path of one object, before it is attributed to the object and its file. */
export interface FieldIssue {
  /** `spec.ingress[0].from[1].ipBlock.cidr`; empty for the whole object. */
  readonly field: string;
  readonly message: string;
}

/** The outcome of reading one part of an object: its value when readable, and what is wrong with it. */
export interface Parsed<T> {
  readonly value: T | undefined;
  readonly issues: readonly FieldIssue[];
}

export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Messages in the API server's words, so users recognise them from `kubectl apply`. */
export function invalidValue(value: unknown, detail: string): string {
  return `Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

export function unsupportedValue(value: unknown, supported: readonly string[]): string {
  return `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`;
}

export const REQUIRED_VALUE = 'Required value';

/**
 * Structural reading with zod: types and known field names (unknown fields are errors, as kubectl's default
 * strict field validation makes them). Semantic rules run on the typed result, as the API server validates only
 * what it could decode.
 */
export function readStructure<T>(schema: z.ZodType<T>, value: unknown, path: string): Parsed<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { value: result.data, issues: [] };
  return { value: undefined, issues: result.error.issues.flatMap((issue) => toFieldIssues(issue, path)) };
}

function toFieldIssues(issue: z.core.$ZodIssue, base: string): FieldIssue[] {
  const field = renderPath(base, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ field: childPath(field, key), message: 'unknown field' }));
    case 'invalid_type':
      return [{ field, message: issue.input === undefined ? REQUIRED_VALUE : typeMismatch(issue.expected, issue.input) }];
    default:
      return [{ field, message: issue.message }];
  }
}

function typeMismatch(expected: string, input: unknown): string {
  const wanted = { int: 'an integer', object: 'a mapping', array: 'a list' }[expected] ?? `a ${expected}`;
  return `Invalid value: ${JSON.stringify(input)}: must be ${wanted}, not ${describeType(input)}`;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fraction';
  return `a ${typeof value}`;
}

function renderPath(base: string, segments: readonly PropertyKey[]): string {
  let path = base;
  for (const segment of segments) {
    path = typeof segment === 'number' ? indexPath(path, segment) : childPath(path, String(segment));
  }
  return path;
}

/** What reading one object found: errors make it invalid, warnings do not. */
export class Findings {
  readonly errors: FieldIssue[] = [];
  readonly warnings: FieldIssue[] = [];

  error(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  warn(field: string, message: string): void {
    this.warnings.push({ field, message });
  }

  /** Records a part's issues as errors and hands back its value. */
  take<T>(parsed: Parsed<T>): T | undefined {
    this.errors.push(...parsed.issues);
    return parsed.value;
  }
}

/**
 * The known fields of a mapping, each left for its own reader. Unknown fields are errors, as kubectl's
 * default strict field validation makes them (a misspelt `podSelecter` would otherwise select every pod);
 * the known fields stay readable regardless.
 */
export function readFields<K extends string>(
  raw: unknown,
  known: readonly K[],
  path: string,
): Parsed<Partial<Record<K, unknown>>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { value: undefined, issues: [{ field: path, message: `must be a mapping, not ${describeType(raw)}` }] };
  }
  const fields: Partial<Record<K, unknown>> = {};
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if ((known as readonly string[]).includes(key)) fields[key as K] = value;
    else issues.push({ field: childPath(path, key), message: 'unknown field' });
  }
  return { value: fields, issues };
}
