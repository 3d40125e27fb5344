import { createHash } from 'node:crypto';
import type { Direction } from '../model/types.js';

// Measured with nft 1.0.6 on kernel 6.18: chain, set, map and counter names of 255 bytes are accepted, 256 are
// rejected ("Numerical result out of range": the kernel's NFT_NAME_MAXLEN counts the NUL); rule comments stop at
// 128 characters ("comment too long"); interface names at 15 (IFNAMSIZ counts the NUL).
export const NFT_NAME_MAX_LENGTH = 255;
export const NFT_COMMENT_MAX_LENGTH = 128;
export const IFNAME_MAX_LENGTH = 15;

/** Our own bound, well under the kernel's, so `nft list` stays readable. */
export const POD_OBJECT_NAME_MAX_LENGTH = 64;

const HASH_LENGTH = 10;
const SET_HASH_LENGTH = 16;

/** Hex of SHA-256: stable across runs, processes and Node versions. */
export function stableHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

const DIRECTION_TAG: Readonly<Record<Direction, string>> = { ingress: 'in', egress: 'out' };

// Kubernetes namespace and pod names are [a-z0-9.-] and never hold `_`, so `<ns>_<pod>` splits one way only.
// Anything else (too long, or characters nft's parser would not take back from `nft list`) is cut and gets
// `__<hash of ns/pod>`: a double underscore no untouched name can contain, so the two forms never collide.
const PLAIN_PART = /^[a-z0-9.-]+$/;

function podObjectName(prefix: string, pod: { namespace: string; name: string }): string {
  const plain = `${prefix}${pod.namespace}_${pod.name}`;
  if (PLAIN_PART.test(pod.namespace) && PLAIN_PART.test(pod.name) && plain.length <= POD_OBJECT_NAME_MAX_LENGTH) {
    return plain;
  }
  const sanitized = `${prefix}${pod.namespace.replace(/[^a-z0-9.-]/g, '-')}_${pod.name.replace(/[^a-z0-9.-]/g, '-')}`;
  const suffix = `__${stableHash(`${pod.namespace}/${pod.name}`, HASH_LENGTH)}`;
  return sanitized.slice(0, POD_OBJECT_NAME_MAX_LENGTH - suffix.length) + suffix;
}

/** `pod_in_<ns>_<pod>` / `pod_out_<ns>_<pod>`: the chain holding one pod's rules for one direction. */
export function podChainName(pod: { namespace: string; name: string }, direction: Direction): string {
  return podObjectName(`pod_${DIRECTION_TAG[direction]}_`, pod);
}

/** `drop_in_<ns>_<pod>` / `drop_out_<ns>_<pod>`: the named counter of what that chain drops. */
export function dropCounterName(pod: { namespace: string; name: string }, direction: Direction): string {
  return podObjectName(`drop_${DIRECTION_TAG[direction]}_`, pod);
}

/** `audit_in_<ns>_<pod>` / `audit_out_<ns>_<pod>`: the named counter of what audit-mode policies would drop there. */
export function auditCounterName(pod: { namespace: string; name: string }, direction: Direction): string {
  return podObjectName(`audit_${DIRECTION_TAG[direction]}_`, pod);
}

/** `<kind><family>_<hash of key>`: a shared set named by what it holds, so equal keys share one set. */
export function sharedSetName(kind: 'peer' | 'cidr' | 'nport', family: 4 | 6, key: string): string {
  return `${kind}${family}_${stableHash(key, SET_HASH_LENGTH)}`;
}

export function ruleComment(text: string): string {
  return text.length <= NFT_COMMENT_MAX_LENGTH ? text : `${text.slice(0, NFT_COMMENT_MAX_LENGTH - 3)}...`;
}
