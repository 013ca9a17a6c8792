import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, resolve, sep } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import type { ZipEntrySource } from './zip-writer.js';

/**
 * Archive entries for `paths` (relative to `root`; directories are walked, symlinks stored as links, not
 * followed), in a stable order, each directory before its contents and no entry twice. Files are read lazily
 * when the archive is written. Paths that leave `root` are refused; missing paths are skipped and reported.
 */
export async function directoryEntries(root: string, paths: readonly string[]): Promise<{ entries: ZipEntrySource[]; missing: string[] }> {
  const base = resolve(root);
  const seen = new Set<string>();
  const entries: ZipEntrySource[] = [];
  const missing: string[] = [];
  const add = async (abs: string): Promise<void> => {
    const rel = relative(base, abs).split(sep).join(posix.sep);
    if (rel === '' || seen.has(rel)) {
      if (rel === '') for (const child of (await readdir(abs)).sort()) await add(join(abs, child));
      return;
    }
    const st = await lstat(abs);
    for (let parent = posix.dirname(rel); parent !== '.' && !seen.has(parent); parent = posix.dirname(parent)) {
      // parents first, so an extractor creates them with their own modes
      const pst = await lstat(join(base, parent));
      seen.add(parent);
      entries.push({ name: `${parent}/`, mode: pst.mode, mtime: pst.mtime });
    }
    seen.add(rel);
    if (st.isSymbolicLink()) entries.push({ name: rel, symlinkTarget: await readlink(abs), mode: st.mode, mtime: st.mtime });
    else if (st.isDirectory()) {
      entries.push({ name: `${rel}/`, mode: st.mode, mtime: st.mtime });
      for (const child of (await readdir(abs)).sort()) await add(join(abs, child));
    } else if (st.isFile()) entries.push({ name: rel, file: abs, mode: st.mode, mtime: st.mtime, size: st.size });
  };
  for (const p of paths) {
    const abs = resolve(base, p);
    if (abs !== base && !abs.startsWith(base + sep)) throw new RunnerError('invalid_argument', `artifact path ${JSON.stringify(p)} is outside ${base}`);
    try {
      await lstat(abs);
    } catch {
      missing.push(p);
      continue;
    }
    await add(abs);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { entries, missing };
}
