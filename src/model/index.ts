// The public face of model/: manifests in, validated objects out. The types themselves are in types.ts.
export * from './types.js';
export { loadManifests, readManifests } from './load.js';
export { DEFAULT_NAMESPACE, parseManifests, type LoadOptions, type LoadResult, type LoadWarning } from './manifests.js';
export type { ManifestText } from './documents.js';
export { byNamespaceAndName, DEFAULT_NODE_CIDRS, DEFAULT_POD_CIDRS } from './assign-addresses.js';
export { compareText } from './text-order.js';
export { ipFamily } from './addresses.js';
export { implicitNamespace } from './parse-namespace.js';
// Per-object readers, for objects that arrive one at a time (the watch layer) rather than in manifests.
export type { ManifestObject } from './documents.js';
export { type NamespaceReading, readNamespace } from './parse-namespace.js';
export { type PodReading, readPod } from './parse-pod.js';
export { type PolicyReading, readNetworkPolicy } from './parse-policy.js';
