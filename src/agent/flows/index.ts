// The flow store: distinct allowed connections of this node, served on GET /flows for `bulkhead advise`.
export { createFlowStore, DEFAULT_MAX_FLOWS, type FlowQuery, type FlowStore, type StoredFlow } from './store.js';
export { FLOWS_PATH, flowsQuery } from './query.js';
