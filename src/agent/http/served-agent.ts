// What the HTTP endpoint needs of the agent: the Agent of src/agent/agent.ts satisfies it, and tests stub it.
import type { Registry } from 'prom-client';
import type { Plan } from '../../compile/index.js';
import type { Direction } from '../../model/types.js';
import type { Snapshot } from '../../snapshot/snapshot.js';

export interface ServedAgent {
  readonly registry: Registry;
  status(): { readonly ready: boolean; readonly readyReason?: string };
  /** The snapshot whose plan the kernel holds; undefined before the first plan is applied. */
  view(): { readonly snapshot: Snapshot; readonly plan: Plan } | undefined;
  dropCounts(): Promise<readonly ServedDropCount[]>;
}

export interface ServedDropCount {
  readonly namespace: string;
  readonly pod: string;
  readonly direction: Direction;
  readonly packets: number;
  readonly bytes: number;
}
