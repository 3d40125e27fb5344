// Set and map elements -> one canonical text each, so that what the plan asked for and what nft lists compare as
// strings although nft prints them its own way: IPv6 compressed, protocols by name, single addresses of an
// interval set as plain values, adjacent intervals merged, elements with a timeout or counter wrapped in
// `{elem: {val}}`. The set's key type says how to read each value.
import ipaddr from 'ipaddr.js';

export interface ElementShape {
  /** One key type, or the types of a concatenation's parts. */
  readonly type: unknown;
  readonly map: boolean;
  readonly interval: boolean;
}

// /etc/protocols numbers of the names nft prints for inet_proto.
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  dccp: 33,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

/** The canonical texts of `elements`, as a set (an element is identified by its key, and a map's by its data too). */
export function canonicalElements(shape: ElementShape, elements: readonly unknown[]): Set<string> {
  const types = Array.isArray(shape.type) ? (shape.type as readonly unknown[]) : [shape.type];
  const single = types.length === 1 ? types[0] : undefined;
  if (shape.interval && !shape.map && (single === 'ipv4_addr' || single === 'ipv6_addr')) {
    return new Set(mergedIntervals(single, elements.map(unwrap)));
  }
  return new Set(
    elements.map((element) => {
      const [key, data] = shape.map && Array.isArray(element) && element.length === 2 ? [element[0], element[1]] : [element, undefined];
      const text = keyText(types, unwrap(key));
      return data === undefined ? text : `${text} : ${verdictText(data)}`;
    }),
  );
}

function keyText(types: readonly unknown[], key: unknown): string {
  if (types.length === 1) return valueText(types[0], key);
  const parts = isObject(key) && Array.isArray(key['concat']) ? (key['concat'] as readonly unknown[]) : undefined;
  if (!parts || parts.length !== types.length) return JSON.stringify(key);
  return parts.map((part, i) => valueText(types[i], part)).join(' . ');
}

function valueText(type: unknown, value: unknown): string {
  if (isObject(value)) {
    const range = value['range'];
    if (Array.isArray(range) && range.length === 2) return `${valueText(type, range[0])}-${valueText(type, range[1])}`;
    const prefix = value['prefix'];
    if (isObject(prefix)) return `${valueText(type, prefix['addr'])}/${String(prefix['len'])}`;
    return JSON.stringify(value);
  }
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return typeof value === 'string' && ipaddr.isValid(value) ? ipaddr.parse(value).toString() : JSON.stringify(value);
    case 'inet_proto':
      return typeof value === 'string' && value in PROTOCOL_NUMBERS ? String(PROTOCOL_NUMBERS[value]) : String(value);
    case 'inet_service':
      return String(value);
    default:
      return JSON.stringify(value);
  }
}

function verdictText(data: unknown): string {
  if (!isObject(data)) return JSON.stringify(data);
  const [verdict, argument] = Object.entries(data)[0] ?? [];
  if (verdict === undefined) return '{}';
  if (argument === null) return verdict;
  if (isObject(argument) && typeof argument['target'] === 'string') return `${verdict} ${argument['target']}`;
  return JSON.stringify(data);
}

/** nft wraps an element that carries more than its value (timeout, counter, comment) as `{elem: {val, ...}}`. */
function unwrap(element: unknown): unknown {
  if (isObject(element) && isObject(element['elem']) && 'val' in element['elem']) return element['elem']['val'];
  return element;
}

/**
 * Address intervals as the kernel stores them: merged where they touch or overlap. The same addresses give the
 * same texts whether they were written as prefixes, ranges or single addresses.
 */
function mergedIntervals(type: 'ipv4_addr' | 'ipv6_addr', elements: readonly unknown[]): string[] {
  const bits = type === 'ipv4_addr' ? 32 : 128;
  const intervals: [bigint, bigint][] = [];
  const unreadable: string[] = [];
  for (const element of elements) {
    const interval = addressInterval(element, bits);
    if (interval) intervals.push(interval);
    else unreadable.push(JSON.stringify(element));
  }
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [low, high] of intervals) {
    const last = merged[merged.length - 1];
    if (last && low <= last[1] + 1n) last[1] = high > last[1] ? high : last[1];
    else merged.push([low, high]);
  }
  return [...merged.map(([low, high]) => intervalText(low, high, bits)), ...unreadable];
}

function addressInterval(element: unknown, bits: number): [bigint, bigint] | undefined {
  if (typeof element === 'string') {
    const value = addressNumber(element, bits);
    return value === undefined ? undefined : [value, value];
  }
  if (!isObject(element)) return undefined;
  const range = element['range'];
  if (Array.isArray(range) && range.length === 2) {
    const low = typeof range[0] === 'string' ? addressNumber(range[0], bits) : undefined;
    const high = typeof range[1] === 'string' ? addressNumber(range[1], bits) : undefined;
    return low === undefined || high === undefined ? undefined : [low, high];
  }
  const prefix = element['prefix'];
  if (isObject(prefix) && typeof prefix['addr'] === 'string' && typeof prefix['len'] === 'number') {
    const base = addressNumber(prefix['addr'], bits);
    const length = prefix['len'];
    if (base === undefined || length < 0 || length > bits) return undefined;
    const hostMask = (1n << BigInt(bits - length)) - 1n;
    return [base & ~hostMask, base | hostMask];
  }
  return undefined;
}

function addressNumber(text: string, bits: number): bigint | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const address = ipaddr.parse(text);
  if ((address.kind() === 'ipv4' ? 32 : 128) !== bits) return undefined;
  return address.toByteArray().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function addressText(value: bigint, bits: number): string {
  const bytes: number[] = [];
  for (let i = bits / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

/** `a`, `a/len` when the interval is exactly a prefix, else `a-b`. */
function intervalText(low: bigint, high: bigint, bits: number): string {
  if (low === high) return addressText(low, bits);
  const size = high - low + 1n;
  const isPowerOfTwo = (size & (size - 1n)) === 0n;
  if (isPowerOfTwo && (low & (size - 1n)) === 0n) {
    const length = bits - (size.toString(2).length - 1);
    return `${addressText(low, bits)}/${length}`;
  }
  return `${addressText(low, bits)}-${addressText(high, bits)}`;
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
