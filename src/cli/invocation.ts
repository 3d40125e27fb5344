// How the CLI was invoked: as `bulkhead`, or as the kubectl plugin `kubectl-bulkhead` (which kubectl runs for
// `kubectl bulkhead ...`), so usage and help speak the command the user typed.
import { basename } from 'node:path';
import { UsageError } from './args.js';

export function programName(script: string | undefined): string {
  return script !== undefined && /^kubectl-bulkhead(\.[cm]?[jt]s)?$/.test(basename(script)) ? 'kubectl bulkhead' : 'bulkhead';
}

export function parsePortNumber(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`invalid port '${text}': expected 1-65535`);
  return port;
}
