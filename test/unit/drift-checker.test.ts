// The drift checker's decisions, with the agent and the kernel faked: when it compares, when it stands back
// (nothing applied, a transaction during the listing, a listing that fails), what it logs, counts and asks.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type AppliedKernel,
  type DriftChecker,
  type DriftCheckerOptions,
  type KernelLister,
  parseTableListing,
  startDriftChecker,
} from '../../src/agent/drift/index.js';
import type { Plan } from '../../src/compile/index.js';

const inet = { family: 'inet', name: 'bulkhead' } as const;
const plan: Plan = {
  tables: [{ ...inet, counters: [], sets: [{ name: 'peer4_x', type: 'ipv4_addr', interval: false, elements: ['10.0.0.1'] }], chains: [] }],
  counters: {},
};
const listingOf = (elements: readonly string[]) =>
  parseTableListing(inet, JSON.stringify({ nftables: [{ set: { family: 'inet', table: 'bulkhead', name: 'peer4_x', type: 'ipv4_addr', elem: elements } }] }));

/** The agent and the kernel as the checker sees them; a lister may change `applied` to play a sync. */
interface World {
  applied: AppliedKernel | undefined;
  listings: number;
  readonly resyncs: string[];
  readonly logs: Record<string, unknown>[];
}

interface Harness extends World {
  readonly checker: DriftChecker;
  readonly registry: Registry;
}

function harness(list: (world: World) => ReturnType<KernelLister>, options: Partial<DriftCheckerOptions> = {}): Harness {
  const world: World = { applied: { plan, generation: 2 }, listings: 0, resyncs: [], logs: [] };
  const registry = new Registry();
  const checker = startDriftChecker({
    subject: { appliedKernel: () => world.applied, requestFullResync: (reason) => world.resyncs.push(reason) },
    listKernel: () => {
      world.listings++;
      return list(world);
    },
    logger: pino({ level: 'debug' }, { write: (line: string) => world.logs.push(JSON.parse(line) as Record<string, unknown>) }),
    registry,
    intervalMs: 3_600_000,
    ...options,
  });
  // The harness is the world itself, so that tests read and set what the checker sees.
  return Object.assign(world, { checker, registry });
}

const repairs = async (registry: Registry) => (await registry.getSingleMetric('bulkhead_drift_repairs_total')?.get())?.values[0]?.value ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('drift checker', () => {
  it('leaves a kernel that holds the plan alone', async () => {
    const h = harness(async () => [listingOf(['10.0.0.1'])]);
    expect(await h.checker.checkNow()).toEqual({ kind: 'in-sync' });
    await h.checker.stop();
    expect(h.resyncs).toEqual([]);
    expect(await repairs(h.registry)).toBe(0);
  });

  it('on drift: logs what differs, counts a repair and asks for a full resync', async () => {
    const h = harness(async () => [listingOf([])]);
    const outcome = await h.checker.checkNow();
    await h.checker.stop();
    expect(outcome).toEqual({ kind: 'repair-requested', drift: [{ kind: 'elements-missing', table: inet, set: 'peer4_x', count: 1, sample: ['10.0.0.1'] }] });
    expect(h.resyncs).toEqual(['kernel drift: set inet bulkhead peer4_x: 1 elements missing (10.0.0.1)']);
    expect(await repairs(h.registry)).toBe(1);
    expect(h.logs.find((l) => l['level'] === 40)).toMatchObject({
      component: 'drift',
      objects: ['set inet bulkhead peer4_x'],
      differences: ['set inet bulkhead peer4_x: 1 elements missing (10.0.0.1)'],
      msg: 'the kernel does not hold the applied rules; rebuilding the tables in one transaction',
    });
  });

  it('says so louder when the same drift is back after the rebuild, and still repairs it', async () => {
    const h = harness(async () => [listingOf([])]);
    await h.checker.checkNow();
    await h.checker.checkNow();
    await h.checker.stop();
    expect(h.resyncs).toHaveLength(2);
    expect(await repairs(h.registry)).toBe(2);
    expect(h.logs.filter((l) => Number(l['level']) >= 40).map((l) => [l['level'], l['msg']])).toEqual([
      [40, 'the kernel does not hold the applied rules; rebuilding the tables in one transaction'],
      [50, 'the kernel differs from the applied rules again in the same way after a rebuild; rebuilding the tables again'],
    ]);
  });

  it('names at most 20 differences in the log, and how many more there are', async () => {
    const many: Plan = { ...plan, tables: [{ ...plan.tables[0]!, counters: Array.from({ length: 25 }, (_, i) => `c${i}`) }] };
    const h = harness(async () => [listingOf(['10.0.0.1'])]);
    h.applied = { plan: many, generation: 1 };
    await h.checker.checkNow();
    await h.checker.stop();
    const warning = h.logs.find((l) => l['level'] === 40);
    expect(warning?.['differences']).toHaveLength(20);
    expect(warning?.['moreDifferences']).toBe(5);
    expect(await repairs(h.registry)).toBe(1);
  });

  it('does not compare while nothing is applied exactly', async () => {
    const h = harness(async () => []);
    h.applied = undefined;
    expect(await h.checker.checkNow()).toEqual({ kind: 'skipped', reason: 'nothing applied exactly' });
    await h.checker.stop();
    expect(h.listings).toBe(0);
    expect(h.resyncs).toEqual([]);
  });

  it('skips a round when a transaction starts or ends during the listing', async () => {
    const h = harness(async (self) => {
      // The sync applies a new plan while nft lists: the listing may show either.
      self.applied = { plan, generation: 3 };
      return [];
    });
    expect(await h.checker.checkNow()).toEqual({ kind: 'skipped', reason: 'a transaction ran during the listing' });
    const during = harness(async (self) => {
      self.applied = undefined;
      return [];
    });
    expect(await during.checker.checkNow()).toEqual({ kind: 'skipped', reason: 'a transaction ran during the listing' });
    await Promise.all([h.checker.stop(), during.checker.stop()]);
    expect([...h.resyncs, ...during.resyncs]).toEqual([]);
    expect(await repairs(h.registry)).toBe(0);
  });

  it('repairs nothing when the tables cannot be listed, and says so', async () => {
    const h = harness(async () => {
      throw new Error('cannot list table inet bulkhead: nft killed by SIGKILL');
    });
    expect(await h.checker.checkNow()).toEqual({ kind: 'failed', error: 'cannot list table inet bulkhead: nft killed by SIGKILL' });
    await h.checker.stop();
    expect(h.resyncs).toEqual([]);
    expect(h.logs.find((l) => l['level'] === 40)).toMatchObject({ msg: 'cannot check the tables against the applied rules; trying again at the next check' });
  });

  it('checks on its own, waiting at least half the interval between checks, and not after stop', async () => {
    // random() = 0: every wait is half the interval, 20 ms.
    const started = Date.now();
    const h = harness(async () => [listingOf(['10.0.0.1'])], { intervalMs: 40, random: () => 0 });
    const deadline = started + 10_000;
    while (h.listings < 3 && Date.now() < deadline) await sleep(5);
    await h.checker.stop();
    const checks = h.listings;
    expect(checks).toBeGreaterThanOrEqual(3);
    expect(checks).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 20));
    await sleep(100);
    expect(h.listings).toBe(checks);
  });

  it('rejects an interval that is not a positive whole number of milliseconds', () => {
    expect(() => harness(async () => [], { intervalMs: 0 })).toThrow(/drift check interval: must be a positive whole number of milliseconds, not 0/);
    expect(() => harness(async () => [], { intervalMs: 1.5 })).toThrow(/not 1.5/);
  });
});
