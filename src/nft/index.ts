// The public face of nft/: run transactions, read counters.
export { type BackoffPolicy, backoffDelay } from './backoff.js';
export type { CounterReading } from './counters.js';
export { commandTarget, describeTarget, type NftCommandTarget, type NftObjectKind, type NftVerb } from './describe.js';
export type { FailureLocation } from './locate.js';
export type { NftMetrics } from './metrics.js';
export { resolveNftPath } from './process.js';
export {
  type ApplyOutcome,
  createNftRunner,
  DEFAULT_NFT_TIMEOUT_MS,
  DEFAULT_RETRY,
  INTERACTIVE_MAX_BYTES,
  type NftSessionMode,
  type NftFailure,
  type NftRunner,
  type NftRunnerOptions,
  type RetryPolicy,
} from './runner.js';
