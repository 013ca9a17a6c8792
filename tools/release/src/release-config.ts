import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import { parsePlatform, parseSemVer, type Platform } from '@fleetrunner/installer';

/**
 * How one plugin package is released, read from its package.json: `name`, `version`, and the optional
 * `fleetrunnerRelease` object (`name`, `main`, `entries`, `platforms`).
 */
export interface PluginRelease {
  /** The plugin package's directory, absolute. */
  dir: string;
  /** The npm package name, e.g. `@fleetrunner/plugin-local`. */
  packageName: string;
  /** The artifact name in the registry: `fleetrunnerRelease.name`, else the package name less `@fleetrunner/plugin-`. */
  name: string;
  /** `version` of package.json (semver without `v`). */
  version: string;
  /** The compiled module the plugin runs, relative to `dir`; default `dist/src/main.js`. */
  main: string;
  /**
   * Further compiled modules the bundle carries, by name, relative to `dir`: `<bundle> --fleetrunner-entry <name>
   * …args` runs one with `…args` as its `process.argv.slice(2)`.
   */
  entries: Readonly<Record<string, string>>;
  /** Platforms of the artifact; default linux and darwin on amd64 and arm64 (what a JS bundle runs on). */
  platforms?: readonly Platform[];
}

/** A registry path component (OCI distribution spec), which the artifact name becomes. */
const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const ENTRY_RE = /^[a-z][a-z0-9-]*$/;

function bad(pkgFile: string, message: string): RunnerError {
  return new RunnerError('invalid_argument', `${pkgFile}: ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A module path inside the package: relative, no `..` out of it. */
function modulePath(pkgFile: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '' || isAbsolute(v) || normalize(v).startsWith('..')) {
    throw bad(pkgFile, `${key}: expected a path inside the package, got ${JSON.stringify(v)}`);
  }
  return normalize(v);
}

/**
 * Finds a plugin's directory: an argument with a slash (or `.`) is a path, a bare word is `plugins/<word>` under
 * `root`. Throws `not_found` when it holds no package.json.
 */
export function resolvePluginDir(arg: string, root: string): string {
  const dir = arg === '.' || arg === '..' || arg.includes('/') ? resolve(arg) : join(root, 'plugins', arg);
  if (!existsSync(join(dir, 'package.json'))) throw new RunnerError('not_found', `plugin "${arg}": no package.json in ${dir}`);
  return dir;
}

/** Reads and checks the release facts of the plugin package in `dir`. */
export async function readPluginRelease(dir: string): Promise<PluginRelease> {
  const pkgFile = join(dir, 'package.json');
  let pkg: unknown;
  try {
    pkg = JSON.parse(await readFile(pkgFile, 'utf8'));
  } catch (err) {
    throw RunnerError.wrap(`reading ${pkgFile}`, err, 'invalid_argument');
  }
  if (!isRecord(pkg)) throw bad(pkgFile, 'expected a JSON object');
  const packageName = pkg['name'];
  const version = pkg['version'];
  if (typeof packageName !== 'string' || packageName === '') throw bad(pkgFile, 'name: expected a string');
  if (typeof version !== 'string' || !parseSemVer(version)) throw bad(pkgFile, `version: expected semver without "v", got ${JSON.stringify(version)}`);
  const raw = pkg['fleetrunnerRelease'] ?? {};
  if (!isRecord(raw)) throw bad(pkgFile, 'fleetrunnerRelease: expected an object');
  const name = raw['name'] ?? packageName.replace(/^@fleetrunner\/plugin-/, '');
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw bad(pkgFile, `fleetrunnerRelease.name: expected lower-case letters, digits and separators, got ${JSON.stringify(name)}`);
  }
  const main = modulePath(pkgFile, 'fleetrunnerRelease.main', raw['main'] ?? 'dist/src/main.js');
  const entries: Record<string, string> = {};
  const rawEntries = raw['entries'] ?? {};
  if (!isRecord(rawEntries)) throw bad(pkgFile, 'fleetrunnerRelease.entries: expected an object of name → module');
  for (const [entry, path] of Object.entries(rawEntries)) {
    if (!ENTRY_RE.test(entry)) throw bad(pkgFile, `fleetrunnerRelease.entries: "${entry}" is not a lower-case word`);
    entries[entry] = modulePath(pkgFile, `fleetrunnerRelease.entries.${entry}`, path);
  }
  const release: PluginRelease = { dir, packageName, name, version, main, entries };
  const platforms = raw['platforms'];
  if (platforms !== undefined) {
    if (!Array.isArray(platforms) || platforms.length === 0 || !platforms.every((p) => typeof p === 'string')) {
      throw bad(pkgFile, 'fleetrunnerRelease.platforms: expected a non-empty list of "os/arch"');
    }
    release.platforms = platforms.map((p: string) => parsePlatform(p));
  }
  return release;
}
