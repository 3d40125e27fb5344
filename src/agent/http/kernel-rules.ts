// A pod's chains as the kernel holds them, for /explain: read on request only (one nft spawn a chain, never on
// the sync path), in the words `nft list chain` prints, so an operator can compare them with `nft` on the node.
import { POLICY_TABLE } from '../../compile/index.js';
import { execNft, type NftExit } from '../../nft/process.js';

export type ChainReading =
  | { readonly kind: 'present'; readonly rules: readonly string[] }
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly message: string };

/** Reads one chain of the policy table. */
export type ChainReader = (chain: string) => Promise<ChainReading>;

/** Bounds a listing stuck on the kernel's lock: the request fails, the agent goes on. */
const CHAIN_LIST_TIMEOUT_MS = 5_000;

export function nftChainReader(nftPath: string): ChainReader {
  return async (chain) =>
    chainReading(chain, await execNft(nftPath, ['list', 'chain', POLICY_TABLE.family, POLICY_TABLE.name, chain], CHAIN_LIST_TIMEOUT_MS));
}

/** What one `nft list chain` exit says: the chain's rules, its absence (no chain, or no table), or a failure. */
export function chainReading(chain: string, exit: NftExit): ChainReading {
  if (exit.code === 0) {
    const rules = chainRules(exit.stdout);
    if (rules) return { kind: 'present', rules };
    return { kind: 'error', message: `nft listed no chain ${chain}: ${JSON.stringify(exit.stdout.slice(0, 200))}` };
  }
  if (exit.code !== null && /No such file or directory/.test(exit.stderr)) return { kind: 'absent' };
  const detail = exit.stderr.trim().split('\n')[0] || `exit code ${exit.code}`;
  return { kind: 'error', message: `cannot list chain ${POLICY_TABLE.family} ${POLICY_TABLE.name} ${chain}: ${detail}` };
}

/** The rule lines of a `table { chain X { ... } }` listing, without indentation or the braces around them. */
export function chainRules(listing: string): string[] | undefined {
  const lines = listing.split('\n').map((line) => line.trim());
  const start = lines.findIndex((line) => /^chain \S+ \{$/.test(line));
  if (start === -1) return undefined;
  const end = lines.indexOf('}', start + 1);
  return lines.slice(start + 1, end === -1 ? lines.length : end).filter((line) => line !== '');
}
