// The compiler: snapshot + node -> desired nftables plan (data); two plans -> the smallest nft transaction.
export { compilePlan, createCompiler, type CompileOptions, type CompileResult, type Compiler } from './compile.js';
export { diffPlans, fullTransaction } from './diff.js';
export type { PodBinding, PodRef } from './binding-table.js';
export type { CompileProblem } from './problems.js';
export { UNKNOWN_LOCAL_PODS_COUNTER, type UnknownLocalPodsOption } from './unknown-local-pods.js';
export { ALLOWED_LOG_GROUP, ALLOWED_LOG_PREFIX, type MonitorAllowedOption, parseMonitorRate } from './allowed-sample.js';
export {
  BINDING_TABLE,
  POLICY_TABLE,
  counterNames,
  type AuditCounterOwner,
  type ChainPlan,
  type CounterOwner,
  type Plan,
  type RulePlan,
  type SetPlan,
  type TablePlan,
} from './plan.js';
export {
  isEmptyTransaction,
  type BaseChainHook,
  type Expression,
  type NftCommand,
  type NftObject,
  type NftTransaction,
  type SetElement,
  type Statement,
  type TableFamily,
  type TableRef,
} from './nft-json.js';
export { auditCounterName, dropCounterName, podChainName } from './names.js';
export { DENIED_LOG_GROUP, DENIED_LOG_LIMIT, DENIED_LOG_QUEUE_THRESHOLD } from './pod-chain.js';
