// `nft -j list table FAMILY NAME` output -> what the kernel holds of one table, as data. Only what the drift
// check compares is kept: chains (hook, rules), named sets and maps (definition, elements), named counters.
// Object kinds Bulkhead never creates (quotas, flowtables, ...) are ignored: they change no verdict of ours.
import type { TableRef } from '../../compile/index.js';

export interface ListedHook {
  readonly type: unknown;
  readonly hook: unknown;
  readonly prio: unknown;
  readonly policy: unknown;
}

export interface ListedRule {
  readonly expr: readonly unknown[];
  readonly comment?: string;
}

export interface ListedChain {
  readonly name: string;
  readonly hook?: ListedHook;
  /** In the order the kernel evaluates them. */
  readonly rules: readonly ListedRule[];
}

export interface ListedSet {
  readonly name: string;
  readonly type: unknown;
  readonly map?: unknown;
  readonly flags: readonly unknown[];
  /** As nft prints them: values, prefixes, ranges, concatenations, `[key, verdict]` pairs, `{elem: {val}}`. */
  readonly elements: readonly unknown[];
}

export interface ListedTable extends TableRef {
  readonly chains: ReadonlyMap<string, ListedChain>;
  readonly sets: ReadonlyMap<string, ListedSet>;
  readonly counters: ReadonlySet<string>;
}

type JsonObject = Readonly<Record<string, unknown>>;

/** Throws when the text is not an nft JSON listing of `table`, so a broken listing is never taken for drift. */
export function parseTableListing(table: TableRef, json: string): ListedTable {
  const what = `listing of table ${table.family} ${table.name}`;
  const listing = JSON.parse(json) as unknown;
  const entries = isObject(listing) ? listing['nftables'] : undefined;
  if (!Array.isArray(entries)) throw new Error(`nft ${what} has no "nftables" array`);

  const inTable = (object: JsonObject) => object['family'] === table.family && object['table'] === table.name;
  const chains = new Map<string, { name: string; hook?: ListedHook; rules: ListedRule[] }>();
  const sets = new Map<string, ListedSet>();
  const counters = new Set<string>();
  const rules: { chain: string; rule: ListedRule }[] = [];

  for (const entry of entries as readonly unknown[]) {
    if (!isObject(entry)) throw new Error(`nft ${what} has an entry that is not an object: ${JSON.stringify(entry)}`);
    const [kind, body] = Object.entries(entry)[0] ?? [];
    if (kind === undefined || !isObject(body) || (kind !== 'table' && kind !== 'metainfo' && !inTable(body))) continue;
    switch (kind) {
      case 'chain': {
        const name = nameOf(body, what);
        const hook = body['hook'] === undefined ? {} : { hook: { type: body['type'], hook: body['hook'], prio: body['prio'], policy: body['policy'] } };
        chains.set(name, { name, ...hook, rules: [] });
        break;
      }
      case 'rule': {
        const chain = body['chain'];
        const expr = body['expr'];
        if (typeof chain !== 'string' || !Array.isArray(expr)) throw new Error(`nft ${what} has a malformed rule: ${JSON.stringify(body)}`);
        const comment = body['comment'];
        rules.push({ chain, rule: { expr, ...(typeof comment === 'string' ? { comment } : {}) } });
        break;
      }
      case 'set':
      case 'map': {
        const name = nameOf(body, what);
        const elem = body['elem'] ?? [];
        const flags = body['flags'] ?? [];
        if (!Array.isArray(elem) || !Array.isArray(flags)) throw new Error(`nft ${what} has a malformed ${kind} ${name}`);
        sets.set(name, { name, type: body['type'], ...(kind === 'map' ? { map: body['map'] } : {}), flags, elements: elem });
        break;
      }
      case 'counter':
        counters.add(nameOf(body, what));
        break;
      default:
        break;
    }
  }
  // nft lists every chain before the rules, but a listing is data: attach rules whatever the order.
  for (const { chain, rule } of rules) {
    const listed = chains.get(chain);
    if (!listed) throw new Error(`nft ${what} has a rule of chain ${chain}, which it does not list`);
    listed.rules.push(rule);
  }
  return { family: table.family, name: table.name, chains, sets, counters };
}

function nameOf(body: JsonObject, what: string): string {
  const name = body['name'];
  if (typeof name !== 'string') throw new Error(`nft ${what} has an object without a name: ${JSON.stringify(body)}`);
  return name;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
