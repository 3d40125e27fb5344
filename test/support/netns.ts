// A network namespace of a test file's (or describe block's) own: its own nftables ruleset and loopback, so tests
// run the real nft and real agents without touching the host's tables or each other's.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { compareText } from '../../src/model/text-order.js';

export interface ThrowawayNetns {
  readonly name: string;
  /** A scratch directory, removed with the namespace. */
  readonly dir: string;
  /** A script running nft inside the namespace: what the runner's and agent's nftPath (BULKHEAD_NFT) point at. */
  readonly nftPath: string;
  /** nft ARGS inside the namespace; its standard output. */
  nft(...args: string[]): string;
  /** nft -f - inside the namespace, reading `script`. */
  nftScript(script: string): string;
  /** The ruleset as data, without what differs between equal rulesets built differently: handles, element order. */
  rulesetData(): { nftables: Record<string, Record<string, unknown>>[] };
}

/**
 * Registers, in the calling scope, a namespace (loopback up) and its scratch directory made before the scope's
 * tests and removed after them; the ruleset goes with the namespace. The name is known at once; `dir` and
 * `nftPath` from the scope's first beforeAll on. Hooks run in order of registration (afterAll in reverse), so
 * call this before registering hooks that use the namespace, and processes started in it stop before it goes.
 */
export function useThrowawayNetns(prefix: string): ThrowawayNetns {
  const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let added = false;
  let dir: string | undefined;
  const made = (): string => {
    if (dir === undefined) throw new Error(`netns ${name} is made in beforeAll: use it from a hook or a test`);
    return dir;
  };
  const nftIn = (args: readonly string[], input?: string): string =>
    execFileSync('ip', ['netns', 'exec', name, 'nft', ...args], { encoding: 'utf8', ...(input === undefined ? {} : { input }) });

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', name]);
    added = true;
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    const scratch = await mkdtemp(join(tmpdir(), `bulkhead-${prefix}-`));
    await writeExecutable(join(scratch, 'nft-in-namespace'), `#!/bin/sh\nexec ip netns exec ${name} nft "$@"\n`);
    dir = scratch;
  });
  afterAll(async () => {
    if (added) execFileSync('ip', ['netns', 'delete', name]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  return {
    name,
    get dir() {
      return made();
    },
    get nftPath() {
      return join(made(), 'nft-in-namespace');
    },
    nft: (...args) => nftIn(args),
    nftScript: (script) => nftIn(['-f', '-'], script),
    rulesetData: () => comparableListing(JSON.parse(nftIn(['-j', 'list', 'ruleset']))) as ReturnType<ThrowawayNetns['rulesetData']>,
  };
}

/** An nft JSON listing without handles, its set elements sorted: equal for equal rulesets however they were built. */
function comparableListing(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparableListing);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).filter(([key]) => key !== 'handle');
  const sortedElements = (elements: unknown[]) => elements.map(comparableListing).sort((a, b) => compareText(JSON.stringify(a), JSON.stringify(b)));
  return Object.fromEntries(entries.map(([key, v]) => [key, key === 'elem' && Array.isArray(v) ? sortedElements(v) : comparableListing(v)]));
}

/** Writes a script the tests run as a program (a wrapper standing in for nft, say). */
export async function writeExecutable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}
