// From what a user typed (CLI arguments or /explain's query parameters) to the connection or pod to explain, with
// errors as values: `invalid` for a malformed request, `not-found` for a pod the snapshot does not hold.
import ipaddr from 'ipaddr.js';
import { ipFamily } from '../model/addresses.js';
import { PROTOCOLS, type Pod, type Protocol } from '../model/types.js';
import { type Connection, type Endpoint, namedPortNumber } from '../policy/index.js';
import { canonicalIP, type Snapshot } from '../snapshot/snapshot.js';
import { connectionExplanation } from './connection.js';
import { podExplanation } from './pod.js';
import type { ConnectionExplanation, PodExplanation, PodExplanationOptions } from './types.js';

export interface QueryError {
  readonly kind: 'invalid' | 'not-found';
  readonly message: string;
}

export type QueryResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: QueryError };

export interface QueryContext {
  /** The namespace of a pod named without one. */
  readonly defaultNamespace: string;
  /** Where pods are looked up, for messages: `in the given manifests`, `known to this agent`. */
  readonly where: string;
}

export interface ConnectionQuery {
  /** `ns/pod`, a bare pod name, or an IP (a pod's IP names that pod). */
  readonly from: string;
  readonly to: string;
  /** `80`, `http` (a port the destination declares under that name), optionally with `/PROTO`: `53/UDP`. */
  readonly port: string;
  /** TCP, UDP or SCTP, any case; default TCP, or the one `port` names. */
  readonly protocol?: string;
}

// IANA_SVC_NAME, as the API validates container port names.
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

const invalid = (message: string): { ok: false; error: QueryError } => ({ ok: false, error: { kind: 'invalid', message } });

export function explainConnectionQuery(snapshot: Snapshot, query: ConnectionQuery, context: QueryContext): QueryResult<ConnectionExplanation> {
  const portSpec = parsePortSpec(query.port, query.protocol);
  if (!portSpec.ok) return portSpec;
  const from = resolveEndpoint(snapshot, query.from, context);
  if (!from.ok) return from;
  const to = resolveEndpoint(snapshot, query.to, context);
  if (!to.ok) return to;
  const endpoints = addressEndpoints(from.value, to.value);
  if (!endpoints) return invalid(`${query.from} and ${query.to} have no IP family in common`);
  const { protocol, port } = portSpec.value;
  if (typeof port === 'number') return { ok: true, value: connectionExplanation(snapshot, { ...endpoints, port, protocol }) };
  const destination = endpoints.to.kind === 'pod' ? endpoints.to.pod : undefined;
  const number = namedPortNumber(destination, port, protocol);
  if (number === undefined) {
    return invalid(`${query.to} declares no ${protocol} port named '${port}' (a named port needs a pod destination that declares it)`);
  }
  const conn: Connection = { ...endpoints, port: number, protocol };
  return { ok: true, value: connectionExplanation(snapshot, conn, port) };
}

export function explainPodQuery(
  snapshot: Snapshot,
  podName: string,
  context: QueryContext,
  options: PodExplanationOptions = {},
): QueryResult<PodExplanation> {
  const pod = findPod(snapshot, podName, context);
  return pod.ok ? { ok: true, value: podExplanation(snapshot, pod.value, options) } : pod;
}

function parsePortSpec(text: string, protocolText: string | undefined): QueryResult<{ port: number | string; protocol: Protocol }> {
  const match = /^([^/]+)(?:\/([^/]*))?$/.exec(text.trim());
  const portText = match?.[1] ?? '';
  const named = match?.[2];
  if (named !== undefined && protocolText !== undefined && named.toUpperCase() !== protocolText.toUpperCase()) {
    return invalid(`port '${text}' names protocol ${named} but protocol is ${protocolText}`);
  }
  const protocol = (named ?? protocolText ?? 'TCP').toUpperCase();
  if (!PROTOCOLS.includes(protocol as Protocol)) {
    return invalid(`invalid protocol in '${named === undefined ? protocolText : text}': expected TCP, UDP or SCTP`);
  }
  if (/^\d+$/.test(portText)) {
    const port = Number(portText);
    if (port >= 1 && port <= 65535) return { ok: true, value: { port, protocol: protocol as Protocol } };
  } else if (PORT_NAME.test(portText)) {
    return { ok: true, value: { port: portText, protocol: protocol as Protocol } };
  }
  return invalid(`invalid port '${text}': expected PORT/PROTO with PORT 1-65535 or a port name the destination declares, e.g. 80/TCP`);
}

function resolveEndpoint(snapshot: Snapshot, text: string, context: QueryContext): QueryResult<Endpoint> {
  if (ipaddr.isValid(text)) {
    const ip = canonicalIP(text);
    const pod = snapshot.podByIP(ip);
    return { ok: true, value: pod ? { kind: 'pod', pod, ip } : { kind: 'external', ip } };
  }
  const pod = findPod(snapshot, text, context);
  return pod.ok ? { ok: true, value: { kind: 'pod', pod: pod.value, ip: '' } } : pod;
}

function findPod(snapshot: Snapshot, text: string, context: QueryContext): QueryResult<Pod> {
  const parts = text.split('/');
  if (text === '' || parts.length > 2 || parts.some((p) => p === '')) {
    return invalid(`invalid pod '${text}': expected NAMESPACE/NAME or an IP`);
  }
  const key = parts.length === 2 ? text : `${context.defaultNamespace}/${text}`;
  const pod = snapshot.pod(key);
  if (pod) return { ok: true, value: pod };
  return { ok: false, error: { kind: 'not-found', message: `no pod ${key} ${context.where} (expected NAMESPACE/NAME or an IP)` } };
}

/**
 * Gives pod endpoints named without an IP the address the connection would use: the family of the other side
 * when it is fixed by an IP, else the first family both pods have.
 */
function addressEndpoints(from: Endpoint, to: Endpoint): { from: Endpoint; to: Endpoint } | undefined {
  const fixed = [from, to].find((e) => e.ip !== '');
  const families = fixed ? [ipFamily(fixed.ip)] : ([4, 6] as const);
  for (const family of families) {
    const a = withFamily(from, family);
    const b = withFamily(to, family);
    if (a && b) return { from: a, to: b };
  }
  return undefined;
}

function withFamily(endpoint: Endpoint, family: 4 | 6): Endpoint | undefined {
  if (endpoint.ip !== '') return ipFamily(endpoint.ip) === family ? endpoint : undefined;
  if (endpoint.kind !== 'pod') return undefined;
  const ip = endpoint.pod.ips.find((a) => ipFamily(a) === family);
  return ip ? { ...endpoint, ip } : undefined;
}
