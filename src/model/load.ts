// The one impure corner of model/: reading manifest files from disk, as `kubectl apply -f` finds them.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type LoadOptions, type LoadResult, parseManifests } from './manifests.js';
import type { ManifestText } from './documents.js';
import type { ValidationError } from './types.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Reads files, and directories recursively (their .yaml, .yml and .json files, in name order), then parses
 * them all as one set of manifests. Rejects only when a path does not exist: everything else wrong, an
 * unreadable file included, is an error of the result.
 */
export async function loadManifests(paths: readonly string[], options: LoadOptions): Promise<LoadResult> {
  const { manifests, errors } = await readManifests(paths);
  const result = parseManifests(manifests, options);
  return { ...result, errors: [...errors, ...result.errors] };
}

/** The reading half of loadManifests: every manifest file's text, and an error for each one that cannot be read. */
export async function readManifests(
  paths: readonly string[],
): Promise<{ manifests: ManifestText[]; errors: ValidationError[] }> {
  const manifests: ManifestText[] = [];
  const errors: ValidationError[] = [];
  for (const path of paths) {
    const kind = await pathKind(path);
    const files = kind === 'directory' ? await manifestFilesUnder(path, errors) : [path];
    for (const file of files) {
      try {
        manifests.push({ source: file, text: await readFile(file, 'utf8') });
      } catch (error) {
        errors.push(unreadable(file, error));
      }
    }
  }
  return { manifests, errors };
}

async function pathKind(path: string): Promise<'directory' | 'other'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${path}: no such file or directory`);
    // Anything else (permissions) is reported when the file is read.
    return 'other';
  }
}

/** Symlinked directories are not followed (as kubectl does not), so a link cycle cannot loop. */
async function manifestFilesUnder(directory: string, errors: ValidationError[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    errors.push(unreadable(directory, error));
    return [];
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await manifestFilesUnder(path, errors)));
    // A dangling link is kept, to be reported when it cannot be read.
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) && !(await isDirectory(path))) files.push(path);
  }
  return files;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function unreadable(path: string, error: unknown): ValidationError {
  return { object: `file ${path}`, field: '', message: `cannot read: ${(error as Error).message}`, source: path };
}
