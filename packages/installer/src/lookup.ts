import { readdir, stat, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join, isAbsolute } from 'node:path';
import { installerError } from './errors.js';
import { installDir, pluginHome } from './install-dir.js';
import { hostPlatform, pluginFileName, type Platform } from './platform.js';
import { parseReference, formatReference, type PluginReference } from './reference.js';
import { highestMatch } from './semver.js';

/** Where a plugin reference resolved to. */
export interface ResolvedPlugin {
  /** Absolute path of the executable. */
  path: string;
  /** `installed`: a version directory under the plugin root; `path`: found on `PATH` or given as a path. */
  source: 'installed' | 'path';
  /** The installed version (only for `installed`). */
  version?: string;
}

/** Options shared by the local lookups. */
export interface LookupOptions {
  /** Plugin root; default {@link installDir}. */
  pluginDir?: string;
  /** Default `process.env.PATH`. */
  pathEnv?: string;
  /** Default: this host. */
  platform?: Platform;
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Versions installed for `ref` (directory names that are semver and hold the plugin binary). */
export async function installedVersions(ref: PluginReference, options: LookupOptions = {}): Promise<string[]> {
  const home = pluginHome(options.pluginDir ?? installDir(), ref);
  let names: string[];
  try {
    names = await readdir(home);
  } catch {
    return [];
  }
  const file = pluginFileName(options.platform ?? hostPlatform());
  const out: string[] = [];
  for (const n of names) if (!n.startsWith('.') && (await isExecutable(join(home, n, file)))) out.push(n);
  return out;
}

/** Finds `name` on `PATH` like a shell would; undefined when absent. */
export async function findOnPath(name: string, pathEnv: string | undefined = process.env['PATH']): Promise<string | undefined> {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * Resolves a plugin reference to an executable: the highest installed version matching the constraint; for a
 * bare name without constraint, `PATH` next; a reference that is a path (`/…`, `./…`) is used as is. Throws
 * `not_installed` naming the reference and where it looked. `runner run`, `runner exec` and `fleeting list` share it.
 */
export async function lookPath(reference: string, options: LookupOptions = {}): Promise<ResolvedPlugin> {
  if (isAbsolute(reference) || reference.startsWith('./') || reference.startsWith('../')) {
    if (await isExecutable(reference)) return { path: reference, source: 'path' };
    throw installerError('not_installed', `plugin "${reference}": no executable file at that path`);
  }
  let ref: PluginReference;
  try {
    ref = parseReference(reference);
  } catch (err) {
    // A file name that is no valid repository name (`Fleeting-Plugin-X`) can still be a binary on PATH.
    const onPath = /^[^/:\s]+$/.test(reference) ? await findOnPath(reference, options.pathEnv ?? process.env['PATH']) : undefined;
    if (onPath) return { path: onPath, source: 'path' };
    throw err;
  }
  const root = options.pluginDir ?? installDir();
  const versions = await installedVersions(ref, options);
  const best = highestMatch(versions, ref.constraint);
  if (best) {
    return { path: join(pluginHome(root, ref), best.raw, pluginFileName(options.platform ?? hostPlatform())), source: 'installed', version: best.raw };
  }
  if (ref.bare) {
    const onPath = await findOnPath(ref.name, options.pathEnv ?? process.env['PATH']);
    if (onPath) return { path: onPath, source: 'path' };
  }
  const installedNote = versions.length > 0 ? ` (installed: ${versions.join(', ')})` : '';
  throw installerError(
    'not_installed',
    `plugin "${reference}": no installed version of ${formatReference(ref)} under ${pluginHome(root, ref)}${installedNote}${ref.bare ? ' and no executable of that name on PATH' : ''}; run "runner fleeting install"`,
  );
}
