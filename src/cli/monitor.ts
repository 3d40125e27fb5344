// `bulkhead monitor`: follows a node's verdict stream (the agent's GET /monitor, JSON lines) and prints each
// record as it comes, one line of text or the record's JSON. Agents produce dropped and audit records, and allowed
// ones (sampled new connections) when started with --monitor-allowed.
import { type Command, Option } from 'commander';
import { FLOW_VERDICTS, type FlowRecord, type FlowVerdict, readFlowLines } from '../advise/flow-record.js';
import { AgentRequestError } from './agent-client.js';
import { AGENT_PORT, findAgent } from './agent-discovery.js';
import { LOCAL_AGENT } from './agent-explain.js';
import { UsageError } from './args.js';
import { readClusterObjects } from './cluster.js';
import { parsePortNumber } from './invocation.js';

/** Reaching the agent and its answer's head; the stream itself may stay quiet for hours. */
const CONNECT_TIMEOUT_MS = 5_000;

export interface MonitorFlags {
  readonly agent?: string;
  readonly node?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly agentPort: number;
  readonly pod?: string;
  readonly verdict?: FlowVerdict;
  readonly recent?: boolean;
  readonly output: 'text' | 'json';
}

export function addMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description("follow a node's verdict stream: each denied connection with its pods, direction, port and the policies that isolate the pod")
    .option('--agent <url>', `the agent's endpoint (default: ${LOCAL_AGENT}, this node's agent)`)
    .option('--node <name>', "the agent of this node, found in the cluster (pods of bulkhead-system on it; --kubeconfig, --context)")
    .option('--kubeconfig <path>', 'with --node: the kubeconfig (default $KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'with --node: the kubeconfig context (default its current one)')
    .option('--agent-port <port>', 'with --node: the port of the agents found on the nodes', parsePortNumber, AGENT_PORT)
    .option('--pod <ns/name>', 'only records with this pod at either end')
    .addOption(new Option('--verdict <verdict>', 'only records of this verdict (allowed: agents started with --monitor-allowed)').choices(FLOW_VERDICTS))
    .option('--recent', 'begin with the records the agent still holds (its last 1,000)')
    .addOption(new Option('-o, --output <format>', 'one line of text per record, or the record as one JSON line').choices(['text', 'json']).default('text'))
    .action(async (flags: MonitorFlags) => {
      const agent = await agentOf(flags);
      await followMonitor(monitorUrl(agent, flags), (record) => {
        process.stdout.write(`${flags.output === 'json' ? JSON.stringify(record) : renderFlowRecord(record)}\n`);
      });
    });
}

async function agentOf(flags: MonitorFlags): Promise<string> {
  if (flags.node === undefined) {
    if (flags.kubeconfig !== undefined || flags.context !== undefined) throw new UsageError('--kubeconfig and --context find the agent of --node: give --node');
    return flags.agent ?? LOCAL_AGENT;
  }
  if (flags.agent !== undefined) throw new UsageError('--agent and --node both say which agent to follow: give one');
  const { snapshot } = await readClusterObjects({
    ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
    ...(flags.context === undefined ? {} : { context: flags.context }),
  });
  const found = findAgent(snapshot, flags.node, flags.agentPort);
  if (!found.found) throw new AgentRequestError(found.reason);
  return found.url;
}

export function monitorUrl(agent: string, query: Pick<MonitorFlags, 'pod' | 'verdict' | 'recent'>): URL {
  let url: URL;
  try {
    url = new URL('/monitor', agent);
  } catch {
    throw new AgentRequestError(`invalid agent URL '${agent}': expected http://HOST:PORT`);
  }
  if (query.pod !== undefined) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(query.pod)) throw new UsageError(`--pod ${query.pod}: expected NAMESPACE/NAME`);
    url.searchParams.set('pod', query.pod);
  }
  if (query.verdict !== undefined) url.searchParams.set('verdict', query.verdict);
  if (query.recent === true) url.searchParams.set('recent', '1');
  return url;
}

/** `2026-11-23T23:12:52.481Z node-a ingress demo/client -> demo/web 80/TCP DROPPED by demo/web-closed` */
export function renderFlowRecord(record: FlowRecord): string {
  const verdict = record.verdict.toUpperCase();
  const why = record.policies.length > 0 ? `${verdict} by ${record.policies.join(', ')}` : verdict;
  return `${record.time} ${record.node} ${record.direction} ${record.from} -> ${record.to} ${record.port}/${record.protocol} ${why}`;
}

/**
 * Reads the stream until the agent ends it, handing each record over as it arrives; rejects when the agent cannot
 * be reached, refuses, sends what is no flow record, or ends the stream.
 */
export async function followMonitor(url: URL, onRecord: (record: FlowRecord) => void): Promise<never> {
  const connecting = new AbortController();
  const timer = setTimeout(() => connecting.abort(), CONNECT_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, { signal: connecting.signal, headers: { Accept: 'application/x-ndjson' } });
  } catch (error) {
    const reason = connecting.signal.aborted ? `no answer in ${CONNECT_TIMEOUT_MS} ms` : causeOf(error);
    throw new AgentRequestError(`the agent at ${url.origin} cannot be reached: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    let message = text.trim().slice(0, 200);
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // Not JSON: the text as it came.
    }
    throw new AgentRequestError(`the agent at ${url.origin} answered ${response.status}: ${message}`);
  }
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const read = readFlowLines(line);
        if (!read.ok) throw new AgentRequestError(`the agent at ${url.origin} sent a line that is no flow record (${read.field || 'line'}: ${read.message}): ${line.slice(0, 200)}`);
        for (const record of read.records) onRecord(record);
      }
    }
  } catch (error) {
    if (error instanceof AgentRequestError) throw error;
    throw new AgentRequestError(`the stream of the agent at ${url.origin} broke: ${causeOf(error)}`);
  }
  throw new AgentRequestError(`the agent at ${url.origin} ended the stream (it stopped, or restarts)`);
}

function causeOf(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return cause.message || String((cause as NodeJS.ErrnoException).code ?? cause.name);
  return error instanceof Error ? error.message : String(error);
}
