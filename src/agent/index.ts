// The public face of agent/: what `bulkhead agent` runs.
export { type Agent, type AgentStatus, type AgentView, startAgent, SYNC_BACKOFF } from './agent.js';
export type { DropCount } from './drop-counts.js';
export { runAgent } from './run.js';
export { manifestsDigest } from './manifests.js';
export { AGENT_DEFAULTS, type AgentHttpOptions, type AgentOptions, type AgentSource } from './options.js';
export { type SyncStep, syncStep } from './sync-step.js';
