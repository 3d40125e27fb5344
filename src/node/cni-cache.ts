// Which host-side veth is whose: the CNI result cache that libcni writes on every pod sandbox ADD
// (`<dir>/<network>-<containerId>-<ifName>`, kind `cniCacheV1`; containernetworking/cni libcni/api.go).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodBinding } from '../compile/index.js';
import { readCidr } from '../model/addresses.js';
import { compareText } from '../model/text-order.js';
import { podKey } from '../model/types.js';

export const DEFAULT_CNI_RESULTS_DIR = '/var/lib/cni/results';

export interface CniCacheFile {
  /** Path of the file, for messages. */
  readonly path: string;
  readonly text: string;
  readonly mtimeMs: number;
}

/** Something wrong with one file of the cache; it contributes no binding. */
export interface CniCacheWarning {
  readonly path: string;
  readonly message: string;
}

export interface CniCacheReading {
  readonly bindings: readonly PodBinding[];
  readonly warnings: readonly CniCacheWarning[];
}

/** One file's meaning: a pod's attachment, a file that is fine but binds nothing, or garbage. */
export type CniCacheEntry =
  | { readonly kind: 'attachment'; readonly containerId: string; readonly binding: PodBinding }
  | { readonly kind: 'no-host-interface' }
  | { readonly kind: 'invalid'; readonly message: string };

interface CachedInfo {
  readonly kind?: unknown;
  readonly containerId?: unknown;
  readonly cniArgs?: unknown;
  readonly result?: { readonly interfaces?: unknown; readonly ips?: unknown };
}

interface CniInterface {
  readonly name?: unknown;
  readonly sandbox?: unknown;
}

interface CniIPConfig {
  readonly address?: unknown;
  readonly interface?: unknown;
}

export function parseCniCacheFile(text: string): CniCacheEntry {
  let info: CachedInfo;
  try {
    info = JSON.parse(text) as CachedInfo;
  } catch (error) {
    return invalid(`not JSON: ${(error as Error).message}`);
  }
  if (typeof info !== 'object' || info === null) return invalid('not a JSON object');
  if (info.kind !== 'cniCacheV1') return invalid(`kind is ${JSON.stringify(info.kind)}, not "cniCacheV1"`);
  if (typeof info.containerId !== 'string' || info.containerId === '') return invalid('containerId is missing');
  const args = cniArgs(info.cniArgs);
  const namespace = args.get('K8S_POD_NAMESPACE');
  const name = args.get('K8S_POD_NAME');
  if (!namespace || !name) return invalid('cniArgs name no pod (K8S_POD_NAMESPACE and K8S_POD_NAME)');

  const interfaces = Array.isArray(info.result?.interfaces) ? (info.result.interfaces as CniInterface[]) : [];
  const inSandbox = (i: CniInterface) => typeof i.sandbox === 'string' && i.sandbox !== '';
  // The bridge plugin lists [bridge, host veth, pod eth0] and ptp [host veth, pod eth0]: the host-side veth is the
  // last interface outside the sandbox. A loopback attachment (containerd's `cni-loopback`) has none.
  const hostSide = interfaces.filter((i) => !inSandbox(i)).at(-1);
  if (hostSide === undefined) return { kind: 'no-host-interface' };
  if (typeof hostSide.name !== 'string' || hostSide.name === '') return invalid('the host-side interface has no name');

  const ips: string[] = [];
  for (const [i, config] of (Array.isArray(info.result?.ips) ? (info.result.ips as CniIPConfig[]) : []).entries()) {
    const owner = typeof config.interface === 'number' ? interfaces[config.interface] : undefined;
    // An address of the host side (none that we know of) is not the pod's.
    if (owner !== undefined && !inSandbox(owner)) continue;
    const address = typeof config.address === 'string' ? podAddress(config.address) : undefined;
    if (address === undefined) return invalid(`result.ips[${i}].address is not an address: ${JSON.stringify(config.address)}`);
    if (!ips.includes(address)) ips.push(address);
  }
  return { kind: 'attachment', containerId: info.containerId, binding: { namespace, name, hostIfname: hostSide.name, ips } };
}

/**
 * Bindings of every pod the cache names. When a pod has files of several sandboxes (a sandbox was recreated and
 * the old one's DEL left its file behind), the newest sandbox's files are the pod's.
 */
export function bindingsFromCache(files: readonly CniCacheFile[]): CniCacheReading {
  const warnings: CniCacheWarning[] = [];
  const sandboxesByPod = new Map<string, Map<string, { bindings: PodBinding[]; paths: string[]; mtimeMs: number }>>();
  for (const file of [...files].sort((a, b) => compareText(a.path, b.path))) {
    const entry = parseCniCacheFile(file.text);
    switch (entry.kind) {
      case 'invalid':
        warnings.push({ path: file.path, message: entry.message });
        break;
      case 'no-host-interface':
        break;
      case 'attachment': {
        const pod = podKey(entry.binding);
        const sandboxes = sandboxesByPod.get(pod) ?? new Map();
        sandboxesByPod.set(pod, sandboxes);
        const sandbox = sandboxes.get(entry.containerId) ?? { bindings: [], paths: [], mtimeMs: 0 };
        sandboxes.set(entry.containerId, sandbox);
        sandbox.bindings.push(entry.binding);
        sandbox.paths.push(file.path);
        sandbox.mtimeMs = Math.max(sandbox.mtimeMs, file.mtimeMs);
        break;
      }
      default: {
        const unreachable: never = entry;
        return unreachable;
      }
    }
  }

  const bindings: PodBinding[] = [];
  for (const [pod, sandboxes] of [...sandboxesByPod].sort(([a], [b]) => compareText(a, b))) {
    const [newest, ...older] = [...sandboxes.values()].sort((a, b) => b.mtimeMs - a.mtimeMs || compareText(a.paths[0] ?? '', b.paths[0] ?? ''));
    if (newest === undefined) continue;
    bindings.push(...newest.bindings);
    for (const stale of older) {
      for (const path of stale.paths) {
        warnings.push({ path, message: `an older sandbox of pod ${pod} than ${newest.paths.join(', ')}; ignored` });
      }
    }
  }
  return { bindings, warnings };
}

/** Reads every file of the cache directory. A missing directory is an empty cache (no pod has started here). */
export async function readCniCache(directory: string): Promise<CniCacheReading> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { bindings: [], warnings: [] };
    return { bindings: [], warnings: [{ path: directory, message: `cannot read the directory: ${(error as Error).message}` }] };
  }
  const files: CniCacheFile[] = [];
  const warnings: CniCacheWarning[] = [];
  for (const name of names) {
    const path = join(directory, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) continue;
      files.push({ path, text: await readFile(path, 'utf8'), mtimeMs: info.mtimeMs });
    } catch (error) {
      // Deleted between readdir and read: the pod is gone, which the next read shows.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      warnings.push({ path, message: `cannot read: ${(error as Error).message}` });
    }
  }
  const reading = bindingsFromCache(files);
  return { bindings: reading.bindings, warnings: [...warnings, ...reading.warnings] };
}

function cniArgs(value: unknown): Map<string, string> {
  const args = new Map<string, string>();
  if (!Array.isArray(value)) return args;
  for (const pair of value) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') args.set(pair[0], pair[1]);
  }
  return args;
}

/** CNI gives addresses with their prefix: `10.244.1.5/24` -> `10.244.1.5`, canonical text. */
function podAddress(cidr: string): string | undefined {
  return readCidr(cidr).cidr?.address.toString();
}

function invalid(message: string): CniCacheEntry {
  return { kind: 'invalid', message };
}
