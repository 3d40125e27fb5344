// Reads Bulkhead's tables back from the kernel, through the same nft binary the runner applies with.
import type { TableRef } from '../../compile/index.js';
import { parseNftErrors } from '../../nft/errors.js';
import { execNft } from '../../nft/process.js';
import { type ListedTable, parseTableListing } from './listing.js';

/** The listed tables among `tables`; a table the kernel does not have is left out (nft: ENOENT). */
export type KernelLister = (tables: readonly TableRef[]) => Promise<ListedTable[]>;

/** `nftPath` as the runner resolves it (resolveNftPath). Rejects when nft fails for any other reason. */
export function nftKernelLister(nftPath: string, timeoutMs: number): KernelLister {
  return async (tables) => {
    const listed: ListedTable[] = [];
    for (const table of tables) {
      const exit = await execNft(nftPath, ['-j', 'list', 'table', table.family, table.name], timeoutMs);
      if (exit.code === 0) {
        listed.push(parseTableListing(table, exit.stdout));
        continue;
      }
      const messages = parseNftErrors(exit.stderr);
      if (exit.code === 1 && messages.some((m) => m === 'No such file or directory')) continue;
      throw new Error(`cannot list table ${table.family} ${table.name}: ${messages.join('; ')}`);
    }
    return listed;
  };
}
