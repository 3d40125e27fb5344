// The public face of agent/drift/: compare the kernel with the applied plan, and the checker that does it now
// and then and asks the agent to repair.
export {
  type AppliedKernel,
  type DriftChecker,
  type DriftCheckerOptions,
  type DriftCheckOutcome,
  type DriftSubject,
  startDriftChecker,
} from './checker.js';
export { describeDrift, driftObject } from './describe.js';
export { type KernelDrift, kernelDrift, ruleSignature } from './drift.js';
export { type KernelLister, nftKernelLister } from './list-kernel.js';
export { type ListedTable, parseTableListing } from './listing.js';
