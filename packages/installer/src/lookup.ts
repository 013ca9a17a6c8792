import { readdir, stat, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join, isAbsolute, resolve } from 'node:path';
import type { RunnerError } from '@fleetrunner/common';
import { installerError } from './errors.js';
import { installDir, pluginHome } from './install-dir.js';
import { hostPlatform, pluginFileName, type Platform } from './platform.js';
import { parseReference, formatReference, type PluginReference } from './reference.js';
import { highestMatch } from './semver.js';

/** Where a plugin reference resolved to. */
export interface ResolvedPlugin {
  /** Absolute path of the executable. */
  path: string;
  /**
   * `installed`: a version directory under the plugin root; `path`: found on `PATH` or given as a path;
   * `builtin`: one of {@link LookupOptions.builtin}.
   */
  source: 'installed' | 'path' | 'builtin';
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
  /** Plugins the caller embeds, by bare name (the CLI's `local`): they win over every other lookup. */
  builtin?: Readonly<Record<string, string>>;
  /** How to install, at the end of a `not_installed` message; default `install it with "runner fleeting install"`. */
  installHint?: string;
}

/** Prefix of a manually installed plugin binary on `PATH` (`fleeting-plugin-aws`), as upstream's docs name them. */
export const PATH_PLUGIN_PREFIX = 'fleeting-plugin-';

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
 * The file name a bare plugin name is looked up as on `PATH`: `fleeting-plugin-<name>`, or the name itself when it
 * already is such a file name (`fleeting-plugin-aws`, any case). Never the bare `<name>`: `aws` must not find the
 * AWS CLI.
 */
export function pathBinaryName(name: string): string {
  return name.toLowerCase().startsWith(PATH_PLUGIN_PREFIX) ? name : PATH_PLUGIN_PREFIX + name;
}

function isPathLike(reference: string): boolean {
  return isAbsolute(reference) || reference.startsWith('./') || reference.startsWith('../');
}

function notInstalled(reference: string, why: string, options: LookupOptions): RunnerError {
  return installerError('not_installed', `plugin "${reference}": ${why}; ${options.installHint ?? 'install it with "runner fleeting install"'}`);
}

/**
 * Resolves a plugin reference to an executable, as upstream GitLab Runner does (one lookup for `runner run`,
 * `runner exec`, `fleeting list` and `fleeting install`'s "already installed" check):
 *
 * 1. a name in `builtin` (the embedded `local`);
 * 2. a path (absolute, `./…`, `../…`, or a relative `a/b` that is an executable file) as given;
 * 3. the highest installed version under the plugin root matching the constraint (the layout `fleeting install`
 *    writes: `<root>/<registry>/<repo>/<name>/<version>/plugin`);
 * 4. only for a bare name without constraint: `fleeting-plugin-<name>` on `PATH` ({@link pathBinaryName}).
 *
 * Throws `not_installed` naming the reference, where it looked, and how to install it.
 */
export async function lookPath(reference: string, options: LookupOptions = {}): Promise<ResolvedPlugin> {
  const builtin = options.builtin?.[reference];
  if (builtin !== undefined) return { path: builtin, source: 'builtin' };
  const pathEnv = options.pathEnv ?? process.env['PATH'];
  if (isPathLike(reference)) {
    if (await isExecutable(reference)) return { path: resolve(reference), source: 'path' };
    throw installerError('not_installed', `plugin "${reference}": no executable file at that path`);
  }
  if (reference.includes('/') && (await isExecutable(reference))) return { path: resolve(reference), source: 'path' };
  let ref: PluginReference;
  try {
    ref = parseReference(reference);
  } catch (err) {
    // A file name that is no valid repository name (`Fleeting-Plugin-X`) can still be a plugin binary on PATH.
    const onPath = /^[^/:\s]+$/.test(reference) ? await findOnPath(pathBinaryName(reference), pathEnv) : undefined;
    if (onPath) return { path: onPath, source: 'path' };
    throw err;
  }
  const root = options.pluginDir ?? installDir();
  const versions = await installedVersions(ref, options);
  const best = highestMatch(versions, ref.constraint);
  if (best) {
    return { path: join(pluginHome(root, ref), best.raw, pluginFileName(options.platform ?? hostPlatform())), source: 'installed', version: best.raw };
  }
  const binary = pathBinaryName(ref.name);
  if (ref.bare) {
    const onPath = await findOnPath(binary, pathEnv);
    if (onPath) return { path: onPath, source: 'path' };
  }
  const installedNote = versions.length > 0 ? ` (installed: ${versions.join(', ')})` : '';
  throw notInstalled(reference, `no installed version of ${formatReference(ref)} under ${pluginHome(root, ref)}${installedNote}${ref.bare ? ` and no ${binary} on PATH` : ''}`, options);
}
