import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DirectoryWatch, watchDirectories } from '../../src/agent/directory-watch.js';

const silent = pino({ level: 'silent' });

describe('watchDirectories: every change of the tree is reported, not only the first', () => {
  let root: string;
  let staging: string;
  let watch: DirectoryWatch | undefined;
  let events = 0;

  beforeEach(async () => {
    const base = await mkdtemp(join(tmpdir(), 'bulkhead-watch-'));
    root = join(base, 'tree');
    staging = join(base, 'staging');
    await mkdir(join(root, 'policies'), { recursive: true });
    await mkdir(staging);
    events = 0;
  });

  afterEach(async () => {
    watch?.close();
    await rm(join(root, '..'), { recursive: true, force: true });
  });

  /** Resolves once an event has arrived after `before`; fails after a second (periodic rescans are seconds apart). */
  async function nextEvent(before: number): Promise<void> {
    const deadline = Date.now() + 1_000;
    while (events === before) {
      if (Date.now() > deadline) throw new Error('no event within a second');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async function replaceAtomically(path: string, text: string): Promise<void> {
    const staged = join(staging, 'next');
    await writeFile(staged, text);
    await rename(staged, path);
  }

  it('reports a file replaced by rename again and again, in the root and in subdirectories', async () => {
    watch = watchDirectories([root], () => events++, silent);
    for (const path of [join(root, 'policies', 'p.yaml'), join(root, 'pods.yaml')]) {
      for (const text of ['one', 'two', 'one', 'two']) {
        const before = events;
        await replaceAtomically(path, text);
        await nextEvent(before);
      }
    }
  });

  it('reports changes in a directory that appeared after the start, once ensure has run', async () => {
    watch = watchDirectories([root], () => events++, silent);
    let before = events;
    await mkdir(join(root, 'later'));
    await nextEvent(before);
    watch.ensure();
    before = events;
    await replaceAtomically(join(root, 'later', 'x.yaml'), 'one');
    await nextEvent(before);
    before = events;
    await replaceAtomically(join(root, 'later', 'x.yaml'), 'two');
    await nextEvent(before);
  });

  it('starts watching a root that did not exist at first (no pod has started yet) once it does', async () => {
    const missing = join(root, '..', 'cni');
    watch = watchDirectories([missing], () => events++, silent);
    await mkdir(missing);
    watch.ensure();
    const before = events;
    await writeFile(join(missing, 'cbr0-abc-eth0'), '{}');
    await nextEvent(before);
  });

  it('stops reporting after close', async () => {
    watch = watchDirectories([root], () => events++, silent);
    watch.close();
    await replaceAtomically(join(root, 'pods.yaml'), 'one');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toBe(0);
  });
});
