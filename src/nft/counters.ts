// `nft -j list counters table ...` output -> named counter values.

export interface CounterReading {
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
}

interface ListedCounter {
  readonly counter?: { readonly name?: unknown; readonly packets?: unknown; readonly bytes?: unknown };
}

/** The counters of a listing, in listing order; entries that are not counters (metainfo) are skipped. */
export function parseCounterListing(json: string): CounterReading[] {
  const listing = JSON.parse(json) as { nftables?: readonly ListedCounter[] };
  if (!Array.isArray(listing.nftables)) throw new Error('nft counter listing has no "nftables" array');
  return listing.nftables.flatMap((entry): CounterReading[] => {
    const counter = entry.counter;
    if (counter === undefined) return [];
    const { name, packets, bytes } = counter;
    if (typeof name !== 'string' || typeof packets !== 'number' || typeof bytes !== 'number') {
      throw new Error(`nft counter listing has a malformed counter: ${JSON.stringify(counter)}`);
    }
    return [{ name, packets, bytes }];
  });
}
