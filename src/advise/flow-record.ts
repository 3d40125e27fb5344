// Flow records as the verdict stream writes them (one JSON object a line) and the advisor reads them back.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DIRECTIONS, PROTOCOLS } from '../model/types.js';

export const FLOW_VERDICTS = ['dropped', 'allowed', 'audit'] as const;
export type FlowVerdict = (typeof FLOW_VERDICTS)[number];

// `ns/pod` (both DNS-label-like names, as the API server allows) or an IP address.
const podReference = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

const endpointText = z
  .string()
  .refine((text) => podReference.test(text) || ipaddr.isValid(text), { message: 'expected "namespace/pod" or an IP address' });

const flowRecordSchema = z.object({
  time: z.iso.datetime({ offset: true }),
  node: z.string(),
  direction: z.enum(DIRECTIONS as ['egress', 'ingress']),
  from: endpointText,
  to: endpointText,
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(PROTOCOLS as ['TCP', 'UDP', 'SCTP']),
  verdict: z.enum(FLOW_VERDICTS),
  policies: z.array(z.string()),
});

/** One record of the verdict stream: a connection seen on `node`, in one direction, and what became of it. */
export type FlowRecord = z.infer<typeof flowRecordSchema>;

export type FlowLinesReading =
  | { readonly ok: true; readonly records: readonly FlowRecord[] }
  /** `line` counts from 1; `field` is the record's field path, empty for a line that is not a JSON object. */
  | { readonly ok: false; readonly line: number; readonly field: string; readonly message: string };

/** Parses JSON lines of flow records; blank lines are skipped, and the first bad line stops the reading. */
export function readFlowLines(text: string): FlowLinesReading {
  const records: FlowRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return { ok: false, line: i + 1, field: '', message: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    const parsed = flowRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { ok: false, line: i + 1, field: issue.path.join('.'), message: issue.message };
    }
    records.push(parsed.data);
  }
  return { ok: true, records };
}
