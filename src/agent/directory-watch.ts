// Knowing when a directory tree changes, so a sync follows at once rather than at the next periodic rescan.
//
// Every directory of the tree gets its own non-recursive watch. Node 20's `recursive: true` on Linux watches the
// files themselves, so a file replaced by rename (how atomic writers, editors and Kubernetes' ConfigMap volumes
// update files) goes unnoticed after the first replacement: the watched inode is gone. A directory's own watch
// reports every entry renamed into it, every time.
import { type FSWatcher, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface DirectoryWatch {
  /**
   * Watches directories that appeared since the last call and drops those that went away. Call it before each
   * read of the tree: whatever changes after it is reported, whatever changed before it is in that read.
   */
  ensure(): void;
  close(): void;
}

/** Watches each root and every directory under it (symlinked directories are not followed, as the reader does not). */
export function watchDirectories(roots: readonly string[], onChange: () => void, log: Logger): DirectoryWatch {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;

  const watchOne = (directory: string) => {
    try {
      const watcher = watch(directory, onChange);
      watcher.on('error', (error) => {
        log.warn({ object: `directory ${directory}`, err: error }, 'watching stopped; periodic rescans go on');
        watcher.close();
        watchers.delete(directory);
      });
      watchers.set(directory, watcher);
    } catch (error) {
      // Gone between listing and watching: the next ensure sees it missing.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.warn({ object: `directory ${directory}`, err: error }, 'cannot watch; periodic rescans go on');
      }
    }
  };

  const ensure = () => {
    if (closed) return;
    const present = new Set(roots.flatMap((root) => directoriesUnder(root)));
    for (const [directory, watcher] of watchers) {
      if (!present.has(directory)) {
        watcher.close();
        watchers.delete(directory);
      }
    }
    for (const directory of present) {
      if (!watchers.has(directory)) watchOne(directory);
    }
  };

  ensure();
  return {
    ensure,
    close: () => {
      closed = true;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** The directory and every directory below it; nothing when it does not exist (yet). */
function directoriesUnder(directory: string): string[] {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch (error) {
    // One that exists but cannot be listed is still tried, so that watching it says why it cannot.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? [] : [directory];
  }
  return [directory, ...entries.filter((entry) => entry.isDirectory()).flatMap((entry) => directoriesUnder(join(directory, entry.name)))];
}
