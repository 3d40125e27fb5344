// How big a compiled plan is, in the units that cost the kernel and nft: sets and their elements, chains, rules.
import type { NftTransaction, Plan } from '../src/compile/index.js';

export interface PlanSize {
  readonly sets: number;
  readonly setElements: number;
  readonly largestSet: number;
  readonly chains: number;
  readonly rules: number;
  readonly longestChain: number;
}

export function planSize(plan: Plan): PlanSize {
  const sets = plan.tables.flatMap((table) => table.sets);
  const chains = plan.tables.flatMap((table) => table.chains);
  return {
    sets: sets.length,
    setElements: sets.reduce((sum, set) => sum + set.elements.length, 0),
    largestSet: Math.max(0, ...sets.map((set) => set.elements.length)),
    chains: chains.length,
    rules: chains.reduce((sum, chain) => sum + chain.rules.length, 0),
    longestChain: Math.max(0, ...chains.map((chain) => chain.rules.length)),
  };
}

export interface TransactionSize {
  readonly commands: number;
  readonly bytes: number;
}

export function transactionSize(transaction: NftTransaction): TransactionSize {
  return { commands: transaction.nftables.length, bytes: Buffer.byteLength(JSON.stringify(transaction)) };
}
