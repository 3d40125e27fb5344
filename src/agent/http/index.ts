// The agent's HTTP endpoint: health, readiness, metrics, and the node's explanation of a pod or connection.
export { type AgentHttpServer, type AgentHttpServerOptions, MAX_CONCURRENT_EXPLAIN, startAgentHttpServer } from './server.js';
export { EXPLAIN_DISABLED } from './routes.js';
export type { PodNodeView } from './node-view.js';
export type { ServedAgent } from './served-agent.js';
