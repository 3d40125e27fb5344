// The endpoint's answers as values: one request (method, URL) -> status, type, body. No sockets here, so every
// route and error is tested without a server; server.ts only moves these answers over HTTP.
import { DEFAULT_NAMESPACE, type Pod } from '../../model/index.js';
import { type EndpointExplanation, type QueryResult, explainConnectionQuery, explainPodQuery } from '../../explain/index.js';
import type { Snapshot } from '../../snapshot/snapshot.js';
import { FLOWS_PATH, type FlowStore, flowsQuery } from '../flows/index.js';
import type { ChainReader } from './kernel-rules.js';
import { KernelReadError, podNodeView, type PodNodeView } from './node-view.js';
import type { ServedAgent, ServedDropCount } from './served-agent.js';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The message of an error answer, for the log. */
  readonly error?: string;
}

export interface RouteContext {
  readonly agent: ServedAgent;
  readonly nodeName: string;
  /** False: /explain answers 404 (--no-explain-endpoint). */
  readonly explain: boolean;
  readonly readChain: ChainReader;
  /** True when the server also streams /monitor (answered before these routes). */
  readonly monitor?: boolean;
  /** The allowed connections seen (--monitor-allowed), served on /flows; absent: /flows says how to get them. */
  readonly flows?: FlowStore;
}

export const EXPLAIN_DISABLED = 'the explain endpoint is disabled (--no-explain-endpoint)';
const EXPLAIN_PARAMETERS = ['pod', 'from', 'to', 'port', 'protocol'] as const;
type ExplainParameter = (typeof EXPLAIN_PARAMETERS)[number];
const EXPLAIN_USAGE = 'expected pod=NAMESPACE/NAME, or from=NAMESPACE/POD|IP&to=NAMESPACE/POD|IP&port=PORT[&protocol=TCP|UDP|SCTP]';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const text = (status: number, body: string): HttpAnswer => ({ status, contentType: TEXT, body: `${body}\n` });
const json = (status: number, value: unknown): HttpAnswer => ({ status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` });
export const errorAnswer = (status: number, message: string): HttpAnswer => ({ ...json(status, { error: message }), error: message });
const error = errorAnswer;

export async function answer(method: string, rawUrl: string, context: RouteContext): Promise<HttpAnswer> {
  const url = new URL(rawUrl, 'http://agent');
  if (method !== 'GET' && method !== 'HEAD') {
    return { ...error(405, `${method} is not allowed: the endpoint is read-only (GET)`), headers: { allow: 'GET, HEAD' } };
  }
  switch (url.pathname) {
    case '/healthz':
      // Answering at all means the agent's event loop runs: its syncs are scheduled on it.
      return text(200, 'ok');
    case '/readyz': {
      const status = context.agent.status();
      return status.ready ? text(200, 'ok') : text(503, `not ready: ${status.readyReason ?? 'starting'}`);
    }
    case '/metrics':
      return { status: 200, contentType: context.agent.registry.contentType, body: await context.agent.registry.metrics() };
    case '/explain':
      return context.explain ? explain(url.searchParams, context) : error(404, EXPLAIN_DISABLED);
    case FLOWS_PATH:
      return flows(url.searchParams, context.flows);
    default:
      return error(404, `no endpoint ${url.pathname}: expected /healthz, /readyz, /metrics${context.monitor ? ', /monitor' : ''}${context.flows ? ', /flows' : ''} or /explain`);
  }
}

export const FLOWS_DISABLED = 'this agent keeps no flows: start it with --monitor-allowed RATE (and the verdict stream on)';

/** The store's flows as flow records, one JSON line each (time = when the flow was last seen). */
function flows(search: URLSearchParams, store: FlowStore | undefined): HttpAnswer {
  if (!store) return error(404, FLOWS_DISABLED);
  const query = flowsQuery(search, Date.now());
  if (typeof query === 'string') return error(400, query);
  const body = store.flows(query).map((record) => `${JSON.stringify(record)}\n`).join('');
  return { status: 200, contentType: 'application/x-ndjson; charset=utf-8', body };
}

async function explain(search: URLSearchParams, context: RouteContext): Promise<HttpAnswer> {
  const params = explainParameters(search);
  if (typeof params === 'string') return error(400, params);
  const view = context.agent.view();
  if (!view) return error(503, `not ready: ${context.agent.status().readyReason ?? 'no state applied yet'}`);
  const where = { defaultNamespace: DEFAULT_NAMESPACE, where: 'known to this agent' };
  const { snapshot } = view;

  if (params.pod !== undefined) {
    if (params.from !== undefined || params.to !== undefined || params.port !== undefined || params.protocol !== undefined) {
      return error(400, `pod= explains a pod and takes no other parameter: ${EXPLAIN_USAGE}`);
    }
    // Without reachability: a verdict per pod of the cluster does not belong on the loop that syncs the kernel.
    const result = explainPodQuery(snapshot, params.pod, where, { reachability: false });
    if (!result.ok) return queryError(result);
    const pod = snapshot.pod(result.value.pod)!;
    return withNode(context, [pod], (views) => ({ ...result.value, node: { name: context.nodeName, ...views.get(pod) } }));
  }

  if (params.from === undefined || params.to === undefined || params.port === undefined) {
    const missing = (['from', 'to', 'port'] as const).filter((name) => params[name] === undefined);
    return error(400, `missing ${missing.join(', ')}: ${EXPLAIN_USAGE}`);
  }
  const result = explainConnectionQuery(
    snapshot,
    { from: params.from, to: params.to, port: params.port, ...(params.protocol === undefined ? {} : { protocol: params.protocol }) },
    where,
  );
  if (!result.ok) return queryError(result);
  const from = localPod(snapshot, result.value.from, context.nodeName);
  const to = localPod(snapshot, result.value.to, context.nodeName);
  return withNode(context, [from, to], (views) => {
    const fromView = from && views.get(from);
    const toView = to && views.get(to);
    return {
      ...result.value,
      node: { name: context.nodeName, ...(fromView ? { from: fromView } : {}), ...(toView ? { to: toView } : {}) },
    };
  });
}

/** The query parameters of /explain, or what is wrong with them. */
function explainParameters(search: URLSearchParams): Partial<Record<ExplainParameter, string>> | string {
  const params: Partial<Record<ExplainParameter, string>> = {};
  for (const [name, value] of search) {
    if (!(EXPLAIN_PARAMETERS as readonly string[]).includes(name)) return `unknown parameter ${name}: ${EXPLAIN_USAGE}`;
    if (params[name as ExplainParameter] !== undefined) return `parameter ${name} given twice`;
    params[name as ExplainParameter] = value;
  }
  if (Object.keys(params).length === 0) return EXPLAIN_USAGE;
  return params;
}

function queryError(result: QueryResult<unknown> & { ok: false }): HttpAnswer {
  return error(result.error.kind === 'not-found' ? 404 : 400, result.error.message);
}

function localPod(snapshot: Snapshot, endpoint: EndpointExplanation, nodeName: string): Pod | undefined {
  if (endpoint.kind !== 'pod' || endpoint.nodeName !== nodeName) return undefined;
  return snapshot.pod(endpoint.name);
}

/** Reads the kernel's view of the local pods among `pods` (drops once for all), then builds the answer's body. */
async function withNode(
  context: RouteContext,
  pods: readonly (Pod | undefined)[],
  body: (views: ReadonlyMap<Pod, PodNodeView>) => unknown,
): Promise<HttpAnswer> {
  const local = pods.filter((pod): pod is Pod => pod !== undefined && pod.nodeName === context.nodeName);
  const views = new Map<Pod, PodNodeView>();
  try {
    const drops: readonly ServedDropCount[] = local.length > 0 ? await context.agent.dropCounts() : [];
    for (const pod of local) views.set(pod, await podNodeView(pod, context.readChain, drops));
  } catch (cause) {
    if (cause instanceof KernelReadError) return error(500, cause.message);
    throw cause;
  }
  return json(200, body(views));
}
