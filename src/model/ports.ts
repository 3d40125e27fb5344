// Port numbers, port names and protocols, as the API server checks them (IsValidPortNum, IsValidPortName).
import { unsupportedValue } from './field-issues.js';
import { maxLengthError } from './names.js';
import { PROTOCOLS, type Protocol } from './types.js';

const DEFAULT_PROTOCOL: Protocol = 'TCP';

export function portNumberErrors(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

/**
 * An IANA_SVC_NAME (RFC 6335): at most 15 characters of [-a-z0-9], at least one letter, no hyphen at either
 * end nor two in a row. Only lowercase, though RFC 6335 is case-insensitive: the API is stricter.
 */
export function portNameErrors(name: string): string[] {
  const errors: string[] = [];
  if (name.length > 15) errors.push(maxLengthError(15));
  if (!/^[-a-z0-9]+$/.test(name)) errors.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errors.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errors.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errors.push('must not begin or end with a hyphen');
  return errors;
}

/** An absent protocol is TCP (the API defaults it); anything else must be spelt exactly, in capitals. */
export function readProtocol(raw: string | null | undefined): { protocol?: Protocol; error?: string } {
  if (raw === undefined || raw === null) return { protocol: DEFAULT_PROTOCOL };
  const protocol = PROTOCOLS.find((p) => p === raw);
  return protocol ? { protocol } : { error: unsupportedValue(raw, PROTOCOLS) };
}
