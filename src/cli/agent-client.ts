// Asking an agent's /explain over HTTP: the explanation as the agent sees the cluster, and its node's view (the
// pod's chains in the kernel, its drop counters). What comes back is checked before anything renders it.
import { z } from 'zod';
import type { ConnectionExplanation, PodExplanation } from '../explain/index.js';

export type AgentQuery =
  | { readonly kind: 'pod'; readonly pod: string }
  /** `port` as /explain takes it: `80`, `80/TCP`, or a port name the destination declares. */
  | { readonly kind: 'connection'; readonly from: string; readonly to: string; readonly port: string; readonly protocol?: string };

const perDirection = <T extends z.ZodType>(value: T) => z.object({ ingress: value, egress: value });

/** A local pod's view: the contract's `node` of /explain, without the node's name. */
const podNodeView = z.object({
  rulesInKernel: perDirection(z.boolean()),
  kernelRules: perDirection(z.array(z.string())),
  drops: perDirection(z.object({ packets: z.number(), bytes: z.number() })),
});
export type PodNodeView = z.infer<typeof podNodeView>;

const podAnswer = z.looseObject({
  kind: z.literal('pod'),
  pod: z.string(),
  ingress: z.looseObject({ isolated: z.boolean() }),
  egress: z.looseObject({ isolated: z.boolean() }),
  // The pod's view is there only when the pod is on the agent's node.
  node: z.object({ name: z.string() }).extend(podNodeView.partial().shape),
});

const endpoint = z.looseObject({ kind: z.enum(['pod', 'external']), name: z.string(), ip: z.string() });
const connectionAnswer = z.looseObject({
  kind: z.literal('connection'),
  from: endpoint,
  to: endpoint,
  allowed: z.boolean(),
  egress: z.looseObject({ reason: z.string() }),
  ingress: z.looseObject({ reason: z.string() }),
  node: z.object({ name: z.string(), from: podNodeView.optional(), to: podNodeView.optional() }),
});

const agentAnswer = z.discriminatedUnion('kind', [podAnswer, connectionAnswer]);

export type AgentPodExplanation = PodExplanation & { readonly node: { readonly name: string } & Partial<PodNodeView> };
export type AgentConnectionExplanation = ConnectionExplanation & {
  readonly node: { readonly name: string; readonly from?: PodNodeView; readonly to?: PodNodeView };
};
export type AgentExplanation = AgentPodExplanation | AgentConnectionExplanation;

/** The agent could not be asked, or did not answer with an explanation. */
export class AgentRequestError extends Error {}

/** Long enough for an agent listing two chains under load; short enough not to hold a command on a dead node. */
export const AGENT_TIMEOUT_MS = 5_000;

/** `path` on the agent at `agent` (`http://HOST:PORT`). */
export function agentUrl(agent: string, path: string): URL {
  try {
    return new URL(path, agent);
  } catch {
    throw new AgentRequestError(`invalid agent URL '${agent}': expected http://HOST:PORT`);
  }
}

function explainUrl(agent: string, query: AgentQuery): URL {
  const url = agentUrl(agent, '/explain');
  const parameters: Record<string, string> =
    query.kind === 'pod'
      ? { pod: query.pod }
      : { from: query.from, to: query.to, port: query.port, ...(query.protocol === undefined ? {} : { protocol: query.protocol }) };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return url;
}

/** GET /explain of the agent at `agent` (`http://HOST:PORT`). */
export async function askAgent(agent: string, query: AgentQuery, timeoutMs = AGENT_TIMEOUT_MS): Promise<AgentExplanation> {
  const url = explainUrl(agent, query);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/json' } });
    text = await response.text();
  } catch (error) {
    throw new AgentRequestError(`the agent at ${url.origin} cannot be reached: ${fetchFailure(error, timeoutMs)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AgentRequestError(`the agent at ${url.origin} answered ${response.status} with no JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  if (!response.ok) {
    const message = z.object({ error: z.string() }).safeParse(body);
    throw new AgentRequestError(`the agent at ${url.origin} answered ${response.status}: ${message.success ? message.data.error : text.slice(0, 120)}`);
  }
  const parsed = agentAnswer.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentRequestError(`the agent at ${url.origin} answered with no explanation this CLI reads (${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unknown shape'})`);
  }
  // The parts not checked above are the explanation objects of src/explain, which agent and CLI share.
  return body as AgentExplanation;
}

/** fetch's TypeError hides the reason (ECONNREFUSED, a DNS failure) in its cause. */
/** Why a request to an agent got no answer, in a few words: a timeout, the connection's error, else the message. */
export function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer in ${timeoutMs} ms`;
  const cause = error instanceof Error ? error.cause : undefined;
  // Several addresses tried make an AggregateError with no message of its own.
  if (cause instanceof Error) return cause.message || String((cause as NodeJS.ErrnoException).code ?? cause.name);
  return error instanceof Error ? error.message : String(error);
}
