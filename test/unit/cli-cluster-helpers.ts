// For the CLI tests against a live cluster: manifests put on the fake API server as `kubectl apply` of them
// would, with the addresses `-f` gives pods that name none (so both reads hold the same cluster), and the CLI
// run as a process that does not block this one (the fake server answers from this process).
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { readDocuments } from '../../src/model/documents.js';
import { DEFAULT_POD_CIDRS, loadManifests, podKey, readManifests } from '../../src/model/index.js';
import type { FakeApiServer } from '../kube/fake-apiserver.js';
import type { ApiObject, ResourceName } from '../kube/resources.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const RESOURCE_OF_KIND: Readonly<Record<string, ResourceName>> = { Namespace: 'namespaces', Pod: 'pods', NetworkPolicy: 'networkpolicies' };

/** Creates every Namespace, Pod and NetworkPolicy of the manifests; pods get the addresses the manifest loader gives them. */
export async function applyManifests(server: FakeApiServer, paths: readonly string[], defaultNamespace = 'default'): Promise<void> {
  const loaded = await loadManifests(paths, { defaultNamespace, podCidrs: DEFAULT_POD_CIDRS });
  const addresses = new Map(loaded.pods.map((pod) => [podKey(pod), pod.ips]));
  const { manifests } = await readManifests(paths);
  for (const manifest of manifests) {
    for (const object of readDocuments(manifest).objects) {
      const resource = RESOURCE_OF_KIND[object.kind];
      if (resource === undefined) throw new Error(`${manifest.source}: a ${object.kind} is not served by the fake API server`);
      const raw = structuredClone(object.body) as ApiObject;
      if (resource !== 'namespaces') raw.metadata.namespace ??= defaultNamespace;
      if (resource === 'pods') {
        const ips = addresses.get(`${raw.metadata.namespace}/${raw.metadata.name}`) ?? [];
        raw['status'] = { phase: 'Running', podIPs: ips.map((ip) => ({ ip })) };
      }
      server.create(resource, raw);
    }
  }
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export const MAIN = join(REPO, 'src', 'cli', 'main.ts');

/** `bulkhead ARGS` as a process, asynchronously. */
export function bulkhead(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return runProcess(process.execPath, ['--import', 'tsx', MAIN, ...args], env);
}

/** A command as a process, asynchronously: its exit code (null when killed) and output. */
export function runProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `bulkhead ARGS` in this process, its output captured: for comparing outputs, where a process per run would
 * only add its start-up. Runs must not overlap.
 */
export async function bulkheadInProcess(args: readonly string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture(stdout));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture(stderr));
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'bulkhead', ...args]);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

export interface RecordedAgent {
  readonly url: string;
  /** The query strings of the /explain requests received, in order. */
  readonly queries: string[];
  close(): Promise<void>;
}

/**
 * An agent's endpoint that answers /explain with recorded answers: `answer` gets the request's query parameters
 * and returns the status and JSON body to send.
 */
export async function startRecordedAgent(
  host: string,
  port: number,
  answer: (query: URLSearchParams) => { status: number; body: unknown },
): Promise<RecordedAgent> {
  const queries: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://agent');
    if (url.pathname !== '/explain') {
      response.writeHead(404).end();
      return;
    }
    queries.push(url.searchParams.toString());
    const { status, body } = answer(url.searchParams);
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(`${JSON.stringify(body, null, 2)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    queries,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
