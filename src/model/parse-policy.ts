// A NetworkPolicy manifest -> a validated NetworkPolicy, or one that fails closed.
// Rules from ValidateNetworkPolicy (pkg/apis/networking/validation) and SetDefaults_NetworkPolicy.
import { z } from 'zod';
import { type Cidr, hasHostBits, isStrictSubnet, networkText, readCidr } from './addresses.js';
import type { ManifestObject } from './documents.js';
import {
  childPath,
  type FieldIssue,
  Findings,
  indexPath,
  invalidValue,
  readFields,
  readStructure,
  REQUIRED_VALUE,
  unsupportedValue,
} from './field-issues.js';
import { readLabelSelector, SELECT_ALL } from './labels.js';
import { readObjectMeta } from './object-meta.js';
import { portNameErrors, portNumberErrors, readProtocol } from './ports.js';
import type { Direction, IPBlock, LabelSelector, NetworkPolicy, Peer, PolicyPort, Rule, ValidationError } from './types.js';

export interface PolicyContext {
  readonly defaultNamespace: string;
  /** The name given to a policy that has none, so that it can still fail closed under some name. */
  readonly fallbackName: string;
  readonly apiVersionIssue?: FieldIssue;
}

export interface PolicyReading {
  /** Undefined only when the policy has no readable namespace to live in. */
  readonly policy: NetworkPolicy | undefined;
  readonly errors: readonly ValidationError[];
  readonly warnings: readonly ValidationError[];
}

const POLICY_TYPES = { Ingress: 'ingress', Egress: 'egress' } as const satisfies Record<string, Direction>;
const BOTH_DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

const portStructure = z.strictObject({
  protocol: z.string().nullish(),
  port: z
    .union([z.number().int(), z.string()], { error: (issue) => invalidValue(issue.input, 'must be an integer or a port name') })
    .nullish(),
  endPort: z.number().int().nullish(),
});

const peerStructure = z.strictObject({
  podSelector: z.unknown().optional(),
  namespaceSelector: z.unknown().optional(),
  ipBlock: z.strictObject({ cidr: z.string().nullish(), except: z.array(z.string()).nullish() }).nullish(),
});

// Go decodes a null list element to the zero value, so `- ` (null) in a list is `{}`.
const ingressRulesStructure = z.array(
  z.strictObject({ from: z.array(peerStructure.nullable()).nullish(), ports: z.array(portStructure.nullable()).nullish() }).nullable(),
);
const egressRulesStructure = z.array(
  z.strictObject({ to: z.array(peerStructure.nullable()).nullish(), ports: z.array(portStructure.nullable()).nullish() }).nullable(),
);

export function readNetworkPolicy(object: ManifestObject, context: PolicyContext): PolicyReading {
  const findings = new Findings();
  if (context.apiVersionIssue) findings.errors.push(context.apiVersionIssue);
  const top = findings.take(readFields(object.body, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], '')) ?? {};
  const meta = readObjectMeta(top.metadata, { name: 'dns1123-subdomain', namespaced: true, defaultNamespace: context.defaultNamespace });
  findings.errors.push(...meta.issues);
  const name = meta.name ?? context.fallbackName;
  const attribute = (issues: readonly FieldIssue[]) =>
    issues.map((issue) => ({
      object: `NetworkPolicy ${meta.namespace ?? '?'}/${name}`,
      field: issue.field,
      message: issue.message,
      source: object.source,
    }));
  if (meta.namespace === undefined) {
    return { policy: undefined, errors: attribute(findings.errors), warnings: attribute(findings.warnings) };
  }

  const spec = findings.take(readFields(top.spec ?? {}, ['podSelector', 'policyTypes', 'ingress', 'egress'], 'spec')) ?? {};
  const podSelector = readPodSelector(spec.podSelector, findings);
  const ingress = readRules(spec.ingress, 'ingress', findings);
  const egress = readRules(spec.egress, 'egress', findings);
  const givenTypes = readPolicyTypes(spec.policyTypes, findings);
  const errors = attribute(findings.errors);
  const common = {
    namespace: meta.namespace,
    name,
    annotations: meta.annotations ?? {},
    source: object.source,
    errors,
    policyTypesDefaulted: givenTypes === undefined,
  };

  if (errors.length === 0 && podSelector && ingress && egress && givenTypes !== 'unreadable') {
    return {
      policy: { ...common, podSelector, policyTypes: givenTypes ?? defaultPolicyTypes(egress.length > 0), ingress, egress },
      errors,
      warnings: attribute(findings.warnings),
    };
  }
  // Fail closed: the author meant some isolation; we cannot tell which traffic it allows, so it allows none.
  return {
    policy: {
      ...common,
      podSelector: podSelector ?? SELECT_ALL,
      policyTypes: givenTypes === 'unreadable' ? BOTH_DIRECTIONS : (givenTypes ?? defaultPolicyTypes(mayHaveEgressRules(spec.egress))),
      ingress: [],
      egress: [],
    },
    errors,
    warnings: attribute(findings.warnings),
  };
}

/** SetDefaults_NetworkPolicy: Ingress always; Egress when there are egress rules. */
function defaultPolicyTypes(hasEgressRules: boolean): readonly Direction[] {
  return hasEgressRules ? BOTH_DIRECTIONS : ['ingress'];
}

/** For a policy that failed: egress rules that cannot be read may still be egress rules. */
function mayHaveEgressRules(raw: unknown): boolean {
  return Array.isArray(raw) ? raw.length > 0 : raw !== undefined && raw !== null;
}

function readPodSelector(raw: unknown, findings: Findings): LabelSelector | undefined {
  if (raw === undefined || raw === null) {
    // Valid (Go's zero value), and what a mis-indented manifest produces: worth saying.
    findings.warn('spec.podSelector', 'absent: the policy selects every pod of its namespace (write `podSelector: {}` to say so)');
    return SELECT_ALL;
  }
  return findings.take(readLabelSelector(raw, 'spec.podSelector'));
}

/**
 * The given policyTypes in lowercase, undefined when absent or empty (then defaulted), 'unreadable' when they
 * cannot be trusted. The API rejects more than two entries and unknown ones but accepts a repeated one
 * (the list is atomic, not a set); a repeat means nothing more, so it is only a warning.
 */
function readPolicyTypes(raw: unknown, findings: Findings): readonly Direction[] | undefined | 'unreadable' {
  const path = 'spec.policyTypes';
  if (raw === undefined || raw === null) return undefined;
  const given = findings.take(readStructure(z.array(z.string()), raw, path));
  if (given === undefined) return 'unreadable';
  if (given.length > 2) findings.error(path, invalidValue(given, 'may not specify more than two policyTypes'));
  const directions: Direction[] = [];
  let readable = true;
  for (const [i, type] of given.entries()) {
    const direction = type === 'Ingress' || type === 'Egress' ? POLICY_TYPES[type] : undefined;
    if (direction === undefined) {
      findings.error(indexPath(path, i), unsupportedValue(type, Object.keys(POLICY_TYPES)));
      readable = false;
    } else if (directions.includes(direction)) {
      findings.warn(indexPath(path, i), `duplicate value ${JSON.stringify(type)}`);
    } else {
      directions.push(direction);
    }
  }
  if (!readable) return 'unreadable';
  return directions.length > 0 ? directions : undefined;
}

interface RawRule {
  /** A null list element: Go reads it as `{}`. */
  readonly isNull: boolean;
  readonly peers: readonly (RawPeer | null)[];
  readonly ports: readonly (RawPort | null)[];
}
type RawPeer = z.infer<typeof peerStructure>;
type RawPort = z.infer<typeof portStructure>;
const EMPTY_PEER: RawPeer = { podSelector: undefined, namespaceSelector: undefined };

function readRuleStructure(raw: unknown, direction: Direction, path: string, findings: Findings): RawRule[] | undefined {
  if (direction === 'ingress') {
    const rules = findings.take(readStructure(ingressRulesStructure, raw ?? [], path));
    return rules?.map((rule) => ({ isNull: rule === null, peers: rule?.from ?? [], ports: rule?.ports ?? [] }));
  }
  const rules = findings.take(readStructure(egressRulesStructure, raw ?? [], path));
  return rules?.map((rule) => ({ isNull: rule === null, peers: rule?.to ?? [], ports: rule?.ports ?? [] }));
}

function readRules(raw: unknown, direction: Direction, findings: Findings): Rule[] | undefined {
  const path = childPath('spec', direction);
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const rules = readRuleStructure(raw, direction, path, findings);
  if (rules === undefined) return undefined;
  const errorsBefore = findings.errors.length;
  const result: Rule[] = [];
  for (const [i, rule] of rules.entries()) {
    const rulePath = indexPath(path, i);
    if (rule.isNull) findings.warn(rulePath, 'null is an empty rule, which allows all traffic (write `{}` if that is meant)');
    // The API validates ports before peers; errors come out in its order.
    const ports = rule.ports.map((port, j) => readPolicyPort(port ?? {}, indexPath(childPath(rulePath, 'ports'), j), findings));
    const peers = rule.peers.map((peer, j) => readPeer(peer ?? EMPTY_PEER, indexPath(childPath(rulePath, peersField), j), findings));
    result.push({ peers: peers.filter((p) => p !== undefined), ports: ports.filter((p) => p !== undefined) });
  }
  return findings.errors.length === errorsBefore ? result : undefined;
}

function readPolicyPort(raw: RawPort, path: string, findings: Findings): PolicyPort | undefined {
  const errorsBefore = findings.errors.length;
  const { protocol, error } = readProtocol(raw.protocol);
  if (error) findings.error(childPath(path, 'protocol'), error);
  const { port, endPort } = raw;
  const portPath = childPath(path, 'port');
  const endPortPath = childPath(path, 'endPort');
  if (typeof port === 'number') {
    for (const e of portNumberErrors(port)) findings.error(portPath, invalidValue(port, e));
    if (endPort !== undefined && endPort !== null) {
      if (endPort < port) findings.error(endPortPath, invalidValue(endPort, 'must be greater than or equal to `port`'));
      for (const e of portNumberErrors(endPort)) findings.error(endPortPath, invalidValue(endPort, e));
    }
  } else if (typeof port === 'string') {
    if (endPort !== undefined && endPort !== null) {
      findings.error(endPortPath, invalidValue(endPort, 'may not be specified when `port` is non-numeric'));
    }
    for (const e of portNameErrors(port)) findings.error(portPath, invalidValue(port, e));
  } else if (endPort !== undefined && endPort !== null) {
    findings.error(endPortPath, invalidValue(endPort, 'may not be specified when `port` is not specified'));
  }
  if (findings.errors.length !== errorsBefore || protocol === undefined) return undefined;
  return {
    protocol,
    ...(port !== undefined && port !== null ? { port } : {}),
    ...(endPort !== undefined && endPort !== null ? { endPort } : {}),
  };
}

/** A peer is an ipBlock alone, or a podSelector and/or namespaceSelector (AND'd). */
function readPeer(raw: RawPeer, path: string, findings: Findings): Peer | undefined {
  const errorsBefore = findings.errors.length;
  const present = (value: unknown) => value !== undefined && value !== null;
  const podSelector = present(raw.podSelector) ? findings.take(readLabelSelector(raw.podSelector, childPath(path, 'podSelector'))) : undefined;
  const namespaceSelector = present(raw.namespaceSelector)
    ? findings.take(readLabelSelector(raw.namespaceSelector, childPath(path, 'namespaceSelector')))
    : undefined;
  const ipBlock = raw.ipBlock ? readIPBlock(raw.ipBlock, childPath(path, 'ipBlock'), findings) : undefined;

  const count = [raw.podSelector, raw.namespaceSelector, raw.ipBlock].filter(present).length;
  if (count === 0) findings.error(path, `${REQUIRED_VALUE}: must specify a peer`);
  else if (count > 1 && present(raw.ipBlock)) findings.error(path, 'Forbidden: may not specify both ipBlock and another peer');

  if (findings.errors.length !== errorsBefore) return undefined;
  if (ipBlock) return { kind: 'ipBlock', ipBlock };
  return {
    kind: 'pods',
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ...(podSelector ? { podSelector } : {}),
  };
}

function readIPBlock(raw: NonNullable<RawPeer['ipBlock']>, path: string, findings: Findings): IPBlock | undefined {
  const cidrPath = childPath(path, 'cidr');
  if (raw.cidr === undefined || raw.cidr === null || raw.cidr === '') {
    findings.error(cidrPath, REQUIRED_VALUE);
    return undefined;
  }
  const { cidr, error } = readCidr(raw.cidr);
  if (!cidr) {
    findings.error(cidrPath, invalidValue(raw.cidr, error));
    return undefined;
  }
  warnIfHostBits(cidr, raw.cidr, cidrPath, findings);
  const except: string[] = [];
  for (const [i, text] of (raw.except ?? []).entries()) {
    const exceptPath = indexPath(childPath(path, 'except'), i);
    const parsed = readCidr(text);
    if (!parsed.cidr) findings.error(exceptPath, invalidValue(text, parsed.error));
    else if (!isStrictSubnet(parsed.cidr, cidr)) findings.error(exceptPath, invalidValue(text, 'must be a strict subset of `cidr`'));
    else {
      warnIfHostBits(parsed.cidr, text, exceptPath, findings);
      except.push(parsed.cidr.text);
    }
  }
  return except.length === (raw.except ?? []).length ? { cidr: cidr.text, except } : undefined;
}

/** As the API warns (GetWarningsForCIDR): valid, but the reader may have meant a single host. */
function warnIfHostBits(cidr: Cidr, text: string, path: string, findings: Findings): void {
  if (!hasHostBits(cidr)) return;
  const host = `${cidr.address.toString()}/${cidr.family === 'ipv4' ? 32 : 128}`;
  findings.warn(path, `CIDR value ${JSON.stringify(text)} is ambiguous in this context (should be "${networkText(cidr)}" or "${host}"?)`);
}
