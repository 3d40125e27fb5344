// The public face of agent/: what `bulkhead agent` runs.
export { type Agent, type AgentStatus, type DropCount, startAgent, SYNC_BACKOFF } from './agent.js';
export { runAgent } from './run.js';
export { manifestsDigest } from './manifests.js';
export { AGENT_DEFAULTS, type AgentOptions } from './options.js';
export { type SyncStep, syncStep } from './sync-step.js';
