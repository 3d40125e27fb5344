// The plan the kernel should hold vs what `nft -j list table` shows of it -> the differences, as data.
//
// Rules are compared by what makes them matter rather than by their full expressions, because nft rewrites
// expressions on the way in (it drops a `meta protocol ip` that `ip saddr` implies, for one): each rule by its
// verdict, the named sets, maps and counters it uses, the ports, protocols and addresses it matches literally, and
// its comment. Someone else's rule in one of our chains changes the count; one of ours changed in place changes
// those.
import type { Plan, RulePlan, SetPlan, TablePlan, TableRef } from '../../compile/index.js';
import type { BaseChainHook } from '../../compile/nft-json.js';
import { canonicalElements, type ElementShape } from './elements.js';
import type { ListedChain, ListedRule, ListedSet, ListedTable } from './listing.js';

/** How many differing elements a difference names; the count is always whole. */
const ELEMENT_SAMPLE_SIZE = 5;

export type KernelDrift =
  | { readonly kind: 'table-missing'; readonly table: TableRef }
  | { readonly kind: 'chain-missing' | 'chain-extra'; readonly table: TableRef; readonly chain: string }
  | { readonly kind: 'chain-hook-differs'; readonly table: TableRef; readonly chain: string; readonly expected: string; readonly found: string }
  | { readonly kind: 'rule-count-differs'; readonly table: TableRef; readonly chain: string; readonly expected: number; readonly found: number }
  | {
      readonly kind: 'rule-differs';
      readonly table: TableRef;
      readonly chain: string;
      /** Position in the chain, from 0. */
      readonly index: number;
      readonly expected: string;
      readonly found: string;
    }
  | { readonly kind: 'set-missing' | 'set-extra'; readonly table: TableRef; readonly set: string }
  | { readonly kind: 'set-definition-differs'; readonly table: TableRef; readonly set: string; readonly expected: string; readonly found: string }
  | {
      readonly kind: 'elements-missing' | 'elements-extra';
      readonly table: TableRef;
      readonly set: string;
      readonly count: number;
      /** Up to ELEMENT_SAMPLE_SIZE of them, in canonical text (`10.244.1.6`, `10.244.1.6 : jump pod_in_a_b`). */
      readonly sample: readonly string[];
    }
  | { readonly kind: 'counter-missing' | 'counter-extra'; readonly table: TableRef; readonly counter: string };

/**
 * Every way the kernel differs from `plan`, table by table. `listings` holds the tables nft listed; a table of
 * the plan without one is missing. Empty when the kernel holds the plan.
 */
export function kernelDrift(plan: Plan, listings: readonly ListedTable[]): KernelDrift[] {
  return plan.tables.flatMap((table) => {
    const listed = listings.find((l) => l.family === table.family && l.name === table.name);
    return listed ? tableDrift(table, listed) : [{ kind: 'table-missing', table: tableRef(table) }];
  });
}

function tableDrift(table: TablePlan, listed: ListedTable): KernelDrift[] {
  const ref = tableRef(table);
  const drift: KernelDrift[] = [];
  const plannedChains = new Set(table.chains.map((c) => c.name));
  for (const chain of table.chains) {
    const found = listed.chains.get(chain.name);
    if (!found) {
      drift.push({ kind: 'chain-missing', table: ref, chain: chain.name });
      continue;
    }
    const expectedHook = hookText(chain.hook);
    const foundHook = hookText(found.hook);
    if (expectedHook !== foundHook) drift.push({ kind: 'chain-hook-differs', table: ref, chain: chain.name, expected: expectedHook, found: foundHook });
    drift.push(...rulesDrift(ref, chain.name, chain.rules, found));
  }
  for (const name of listed.chains.keys()) {
    if (!plannedChains.has(name)) drift.push({ kind: 'chain-extra', table: ref, chain: name });
  }

  const plannedSets = new Set(table.sets.map((s) => s.name));
  for (const set of table.sets) {
    const found = listed.sets.get(set.name);
    if (found) drift.push(...setDrift(ref, set, found));
    else drift.push({ kind: 'set-missing', table: ref, set: set.name });
  }
  for (const name of listed.sets.keys()) {
    if (!plannedSets.has(name)) drift.push({ kind: 'set-extra', table: ref, set: name });
  }

  const plannedCounters = new Set(table.counters);
  for (const name of table.counters) {
    if (!listed.counters.has(name)) drift.push({ kind: 'counter-missing', table: ref, counter: name });
  }
  for (const name of listed.counters) {
    if (!plannedCounters.has(name)) drift.push({ kind: 'counter-extra', table: ref, counter: name });
  }
  return drift;
}

function rulesDrift(table: TableRef, chain: string, planned: readonly RulePlan[], found: ListedChain): KernelDrift[] {
  if (planned.length !== found.rules.length) {
    return [{ kind: 'rule-count-differs', table, chain, expected: planned.length, found: found.rules.length }];
  }
  return planned.flatMap((rule, index): KernelDrift[] => {
    const expected = ruleSignature(rule);
    const actual = ruleSignature(found.rules[index]!);
    return expected === actual ? [] : [{ kind: 'rule-differs', table, chain, index, expected, found: actual }];
  });
}

/**
 * `accept @peer4_ab l4proto.dport{6 . 80, 17 . 53} "prod/allow-db ingress[0]"`: what a rule does, with which named
 * objects, and which literal ports, protocols and addresses.
 */
export function ruleSignature(rule: RulePlan | ListedRule): string {
  const verdicts: string[] = [];
  const references = new Set<string>();
  const literals: string[] = [];
  for (const statement of rule.expr) {
    collectReferences(statement, references);
    const literal = literalMatch(statement);
    if (literal !== undefined) literals.push(literal);
    if (isObject(statement)) {
      const [kind, argument] = Object.entries(statement)[0] ?? [];
      if (kind === 'accept' || kind === 'drop' || kind === 'return' || kind === 'reject' || kind === 'queue') verdicts.push(kind);
      if ((kind === 'jump' || kind === 'goto') && isObject(argument)) verdicts.push(`${kind} ${String(argument['target'])}`);
      if (kind === 'counter' && typeof argument === 'string') references.add(`counter ${argument}`);
    }
  }
  const comment = rule.comment === undefined ? [] : [JSON.stringify(rule.comment)];
  return [...verdicts, ...[...references].sort(), ...literals.sort(), ...comment].join(' ');
}

/**
 * A match of literal values on a selector nft lists as it was written (ports, protocols, addresses), as one
 * canonical text; undefined for set references (named above) and for selectors nft may drop as implied
 * dependencies (`meta protocol`, `meta nfproto`) or that Bulkhead writes with fixed values only.
 */
function literalMatch(statement: unknown): string | undefined {
  if (!isObject(statement) || !isObject(statement['match'])) return undefined;
  const { op, left, right } = statement['match'];
  if (typeof right === 'string' && right.startsWith('@')) return undefined;
  const literal = literalSelector(left);
  if (literal === undefined) return undefined;
  const elements = isObject(right) && Array.isArray(right['set']) ? (right['set'] as readonly unknown[]) : [right];
  const values = [...canonicalElements(literal.shape, elements)].sort().join(', ');
  return `${op === '!=' ? '!' : ''}${literal.name}{${values}}`;
}

// The key types of the selectors literalSelector knows, addresses aside (ipv4_addr or ipv6_addr by protocol).
const LITERAL_TYPES: Readonly<Record<string, string>> = { l4proto: 'inet_proto', dport: 'inet_service' };

function literalSelector(left: unknown): { readonly name: string; readonly shape: ElementShape } | undefined {
  if (!isObject(left)) return undefined;
  const part = (expression: unknown): string | undefined => {
    if (!isObject(expression)) return undefined;
    const meta = expression['meta'];
    if (isObject(meta) && meta['key'] === 'l4proto') return 'l4proto';
    const payload = expression['payload'];
    if (isObject(payload) && payload['protocol'] === 'th' && payload['field'] === 'dport') return 'dport';
    if (isObject(payload) && (payload['protocol'] === 'ip' || payload['protocol'] === 'ip6')) {
      if (payload['field'] === 'saddr' || payload['field'] === 'daddr') return `${payload['protocol']} ${payload['field']}`;
    }
    return undefined;
  };
  const parts = Array.isArray(left['concat']) ? (left['concat'] as readonly unknown[]).map(part) : [part(left)];
  if (parts.some((name) => name === undefined)) return undefined;
  const names = parts as string[];
  const types = names.map((name) => LITERAL_TYPES[name] ?? (name.startsWith('ip6') ? 'ipv6_addr' : 'ipv4_addr'));
  // A lone address selector's literal set may hold prefixes and ranges: compare the addresses it covers.
  const interval = types.length === 1 && types[0]!.endsWith('_addr');
  return { name: names.join('.'), shape: { type: types.length === 1 ? types[0] : types, map: false, interval } };
}

function collectReferences(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    if (value.startsWith('@')) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, into);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) collectReferences(item, into);
  }
}

function setDrift(table: TableRef, set: SetPlan, found: ListedSet): KernelDrift[] {
  const expected = definitionText(set.type, set.map, set.interval);
  const foundInterval = found.flags.includes('interval');
  const actual = definitionText(found.type, found.map, foundInterval);
  // Elements of another type cannot be compared; the set has to be rebuilt anyway.
  if (expected !== actual) return [{ kind: 'set-definition-differs', table, set: set.name, expected, found: actual }];
  const shape = { type: set.type, map: set.map !== undefined, interval: set.interval };
  // Intervals are compared merged, so each depends on the others: those sets (ipBlocks) are small.
  const [planned, listed] = set.interval ? [set.elements, found.elements] : unmatched(set.elements, found.elements);
  const want = canonicalElements(shape, planned);
  const have = canonicalElements(shape, listed);
  const missing = [...want].filter((e) => !have.has(e)).sort();
  const extra = [...have].filter((e) => !want.has(e)).sort();
  const drift: KernelDrift[] = [];
  if (missing.length > 0) drift.push({ kind: 'elements-missing', table, set: set.name, count: missing.length, sample: missing.slice(0, ELEMENT_SAMPLE_SIZE) });
  if (extra.length > 0) drift.push({ kind: 'elements-extra', table, set: set.name, count: extra.length, sample: extra.slice(0, ELEMENT_SAMPLE_SIZE) });
  return drift;
}

/**
 * The elements of each side that the other does not hold in the very same form. Reading every element in
 * canonical form costs ~10 us (an address parse); peer sets hold up to every pod of the cluster, and nearly all
 * elements are listed exactly as the plan wrote them: only what is left is worth reading.
 */
function unmatched(planned: readonly unknown[], listed: readonly unknown[]): [unknown[], unknown[]] {
  const literal = (element: unknown) => (typeof element === 'string' ? `s${element}` : `j${JSON.stringify(element)}`);
  const plannedForms = new Set(planned.map(literal));
  const listedForms = new Set(listed.map(literal));
  return [planned.filter((e) => !listedForms.has(literal(e))), listed.filter((e) => !plannedForms.has(literal(e)))];
}

function definitionText(type: unknown, map: unknown, interval: boolean): string {
  const key = Array.isArray(type) ? type.join(' . ') : String(type);
  return `${key}${map === undefined ? '' : ` : ${String(map)}`}${interval ? ' interval' : ''}`;
}

function hookText(hook: BaseChainHook | { readonly type: unknown; readonly hook: unknown; readonly prio: unknown; readonly policy: unknown } | undefined): string {
  if (!hook) return 'none (regular chain)';
  return `type ${String(hook.type)} hook ${String(hook.hook)} priority ${String(hook.prio)} policy ${String(hook.policy)}`;
}

function tableRef(table: TableRef): TableRef {
  return { family: table.family, name: table.name };
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
