import type { Pod, Protocol } from '../model/types.js';
import { podKey } from '../model/types.js';

/** One end of a connection: a pod (possibly hostNetwork) at one of its IPs, or an address outside every pod. */
export type Endpoint =
  | { readonly kind: 'pod'; readonly pod: Pod; readonly ip: string }
  | { readonly kind: 'external'; readonly ip: string };

export interface Connection {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly port: number;
  readonly protocol: Protocol;
}

/** `ns/name` for pods, the IP for external hosts: how endpoints are named in output. */
export function endpointName(endpoint: Endpoint): string {
  return endpoint.kind === 'pod' ? podKey(endpoint.pod) : endpoint.ip;
}

/** The pod that policies can select at this endpoint: hostNetwork pods and external hosts are never selected. */
export function selectablePod(endpoint: Endpoint): Pod | undefined {
  return endpoint.kind === 'pod' && !endpoint.pod.hostNetwork ? endpoint.pod : undefined;
}
