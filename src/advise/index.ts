// The advisor: NetworkPolicies proposed from the flows a namespace was seen to have. Pure: records and a snapshot
// in, a proposal out; the CLI (src/cli/advise.ts) reads the files and prints it.
export * from './flow-record.js';
export * from './observed-flows.js';
export * from './workload.js';
export * from './grants.js';
export * from './proposal.js';
export * from './check.js';
export * from './render.js';
export * from './duration.js';
export * from './notes.js';
