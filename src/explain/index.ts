// Explanations of connections and pods as JSON-able objects: one source for the CLI's text and JSON and the
// agent's /explain.
export * from './types.js';
export { connectionExplanation } from './connection.js';
export { podExplanation } from './pod.js';
export * from './query.js';
