// What the runner counts, in the agent's one prom-client registry (served on /metrics by the agent).
import { Counter, Histogram, type Registry } from 'prom-client';

export type TransactionResult = 'applied' | 'failed';

export interface NftMetrics {
  /** Transactions by final result, retries included in one. */
  readonly transactions: Counter<'result'>;
  /** Every failed `nft` run of a transaction, the ones a retry later fixed included. */
  readonly failedAttempts: Counter;
  /** Runs after a failed one. */
  readonly retries: Counter;
  /** Time from the first attempt to the final result, backoff included. */
  readonly transactionSeconds: Histogram;
}

export function createNftMetrics(registry: Registry): NftMetrics {
  const registers = [registry];
  return {
    transactions: new Counter({
      name: 'bulkhead_nft_transactions_total',
      help: 'nftables transactions by final result (applied, or failed after retries)',
      labelNames: ['result'] as const,
      registers,
    }),
    failedAttempts: new Counter({
      name: 'bulkhead_nft_failed_attempts_total',
      help: 'nft runs that failed, including those a retry fixed',
      registers,
    }),
    retries: new Counter({ name: 'bulkhead_nft_retries_total', help: 'nft runs that retried a failed one', registers }),
    transactionSeconds: new Histogram({
      name: 'bulkhead_nft_transaction_seconds',
      help: 'Time to apply one transaction, retries and backoff included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
