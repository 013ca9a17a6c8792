import { toRunnerError } from '@fleetrunner/common';
import { bundleExport, bundleImport } from './bundle.js';
import { install, type InstallOptions } from './install.js';
import { login, readPasswordStream } from './login.js';
import { lookPath, type LookupOptions } from './lookup.js';
import { packagePlugin, type PackageSource } from './package.js';
import { formatPlatform, parsePlatform, type Platform } from './platform.js';
import { publish } from './publish.js';
import type { RegistryOptions } from './registry-client.js';
import { RegistryPool } from './registry-pool.js';

/** Where a command writes: lines to `out` (results) and `err` (errors, warnings, progress). */
export interface CommandIO {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown; isTTY?: boolean };
}

/** One `[[runners]]` entry's plugin: the runner's name (or description) and its `[runners.autoscaler] plugin`. */
export interface PluginUse {
  runner: string;
  plugin: string;
}

/** Outcome of one plugin in a command; `error` is set when it failed. */
export interface CommandItem {
  runner?: string;
  plugin: string;
  path?: string;
  version?: string;
  status: 'installed' | 'present' | 'skipped' | 'found' | 'failed';
  error?: string;
}

/** A command's result: `exitCode` is 1 when any item failed. */
export interface CommandResult {
  exitCode: 0 | 1;
  items: CommandItem[];
}

function lookupExtras(o: LookupExtras): LookupExtras {
  return { builtin: o.builtin, installHint: o.installHint, pathEnv: o.pathEnv };
}

function message(err: unknown): string {
  return toRunnerError(err).message;
}

/** Throttles progress to whole-percent steps on a terminal; nothing is written when `err` is not a TTY. */
function progressLine(io: CommandIO, label: string): { onProgress?: (n: number, total: number) => void; done(): void } {
  if (!io.err.isTTY) return { done: () => undefined };
  let last = -1;
  let shown = false;
  return {
    onProgress: (n, total) => {
      const pct = total > 0 ? Math.floor((n * 100) / total) : 0;
      if (pct === last) return;
      last = pct;
      shown = true;
      io.err.write(`\r\x1b[K${label}: ${(n / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB (${pct}%)`);
    },
    done: () => {
      if (shown) io.err.write('\r\x1b[K');
    },
  };
}

/** What the caller adds to the plugin lookup: its embedded plugins and its install hint (see {@link LookupOptions}). */
export type LookupExtras = Pick<LookupOptions, 'builtin' | 'installHint' | 'pathEnv'>;

/** Options of {@link installCommand}. */
export interface InstallCommandOptions extends RegistryOptions, LookupExtras {
  plugins: readonly PluginUse[];
  /** Re-resolve against the registry even when a matching version is installed. */
  upgrade?: boolean;
  /** Plugin root; default `$FLEETING_PLUGIN_PATH` or `~/.config/fleeting/plugins`. */
  pluginDir?: string;
  /** Override of this host's platform (`os/arch[/variant]`). */
  platform?: string;
  /** Byte cap per layer; default 512 MiB. */
  maxLayerBytes?: number;
  io: CommandIO;
  signal?: AbortSignal;
}

/**
 * `runner fleeting install [--upgrade]`: for each runner's plugin, skip it when a matching version is found
 * locally (unless `upgrade`), else install it. One line per runner on `out`
 * (`runner: <r>, plugin: <ref>, path: <path>`), failures on `err`; exit code 1 if any failed. A plugin shared by
 * several runners is fetched once.
 */
export async function installCommand(options: InstallCommandOptions): Promise<CommandResult> {
  const { io } = options;
  if (options.plugins.length === 0) {
    io.err.write('No plugins to install, review your runner configuration.\n');
    return { exitCode: 0, items: [] };
  }
  const platform: Platform | undefined = options.platform ? parsePlatform(options.platform) : undefined;
  const pool = new RegistryPool(options);
  const done = new Map<string, CommandItem>();
  const items: CommandItem[] = [];
  try {
    for (const use of options.plugins) {
      let item = done.get(use.plugin);
      if (!item) {
        item = await installOne(use.plugin, { ...options, platform, pool });
        done.set(use.plugin, item);
      }
      items.push({ ...item, runner: use.runner });
      if (item.error) io.err.write(`runner: ${use.runner}, plugin: ${use.plugin}, install/update error: ${item.error}\n`);
      else io.out.write(`runner: ${use.runner}, plugin: ${use.plugin}, path: ${item.path}${item.status === 'installed' ? '' : ' (already installed)'}\n`);
    }
  } finally {
    pool.close();
  }
  return { exitCode: items.some((i) => i.error) ? 1 : 0, items };
}

async function installOne(plugin: string, options: Omit<InstallCommandOptions, 'platform'> & { platform?: Platform; pool: RegistryPool }): Promise<CommandItem> {
  // The same lookup as `runner run`: what it would start counts as installed. An embedded plugin never comes from a registry.
  const embedded = options.builtin?.[plugin];
  if (embedded !== undefined) return { plugin, path: embedded, status: 'present' };
  if (!options.upgrade) {
    try {
      const found = await lookPath(plugin, { pluginDir: options.pluginDir, platform: options.platform, ...lookupExtras(options) });
      return { plugin, path: found.path, version: found.version, status: 'present' };
    } catch {
      // Not installed: fall through to the registry.
    }
  }
  const progress = progressLine(options.io, plugin);
  try {
    const opts: InstallOptions = { ...options, onProgress: progress.onProgress };
    const r = await install(plugin, opts);
    return { plugin, path: r.path, version: r.version, status: r.status };
  } catch (err) {
    return { plugin, status: 'failed', error: message(err) };
  } finally {
    progress.done();
  }
}

/**
 * `runner fleeting list`: the executable each runner's plugin resolves to (the same lookup as `runner run`).
 * Lines `runner: <r>, plugin: <ref>, path: <path>`; unresolved ones on `err`, exit 1.
 */
export async function listCommand(options: { plugins: readonly PluginUse[]; pluginDir?: string; platform?: string; io: CommandIO } & LookupExtras): Promise<CommandResult> {
  const platform = options.platform ? parsePlatform(options.platform) : undefined;
  const items: CommandItem[] = [];
  for (const use of options.plugins) {
    try {
      const found = await lookPath(use.plugin, { pluginDir: options.pluginDir, platform, ...lookupExtras(options) });
      items.push({ runner: use.runner, plugin: use.plugin, path: found.path, version: found.version, status: 'found' });
      options.io.out.write(`runner: ${use.runner}, plugin: ${use.plugin}, path: ${found.path}\n`);
    } catch (err) {
      items.push({ runner: use.runner, plugin: use.plugin, status: 'failed', error: message(err) });
      options.io.err.write(`runner: ${use.runner}, plugin: ${use.plugin}, error: ${message(err)}\n`);
    }
  }
  return { exitCode: items.some((i) => i.error) ? 1 : 0, items };
}

/** Options of {@link loginCommand}. */
export interface LoginCommandOptions extends RegistryOptions {
  /** Registry host; default `registry.gitlab.com`. */
  server?: string;
  username?: string;
  password?: string;
  /** When given, the password is read from it (`--password-stdin`). */
  passwordStdin?: AsyncIterable<Buffer | string>;
  io: CommandIO;
  signal?: AbortSignal;
}

/** `runner fleeting login [--username U] [--password-stdin] [server]`: prints `logged in via <where>`. */
export async function loginCommand(options: LoginCommandOptions): Promise<CommandResult> {
  const server = options.server ?? 'registry.gitlab.com';
  try {
    const password = options.passwordStdin ? await readPasswordStream(options.passwordStdin) : (options.password ?? '');
    const via = await login(server, { username: options.username ?? '', password }, options);
    options.io.out.write(`logged in via ${via}\n`);
    return { exitCode: 0, items: [{ plugin: server, status: 'found', path: via }] };
  } catch (err) {
    options.io.err.write(`login error: ${message(err)}\n`);
    return { exitCode: 1, items: [{ plugin: server, status: 'failed', error: message(err) }] };
  }
}

/** Options of {@link packageCommand}: exactly one of `script`, `binaries`, `fromDir`. */
export interface PackageCommandOptions {
  /** Output directory; default `dist`. */
  out?: string;
  /** A JS bundle with a shebang. */
  script?: string;
  /** `os/arch[/variant]=path` pairs. */
  binaries?: readonly string[];
  /** A directory of `<name>-<os>-<arch>[.exe]` files. */
  fromDir?: string;
  /** Platforms (`os/arch`) for `script`; default linux and darwin on amd64 and arm64. */
  platforms?: readonly string[];
  io: CommandIO;
}

/** `runner fleeting package`: lays a plugin out as `dist/<os>/<arch>/plugin`; one line per platform. */
export async function packageCommand(options: PackageCommandOptions): Promise<CommandResult> {
  const out = options.out ?? 'dist';
  try {
    const chosen = [options.script, options.binaries?.length ? options.binaries : undefined, options.fromDir].filter((x) => x !== undefined);
    if (chosen.length !== 1) throw new Error('give exactly one of a script, binaries (os/arch=path) or a directory of <name>-<os>-<arch> files');
    let source: PackageSource;
    if (options.script) source = { kind: 'script', file: options.script, ...(options.platforms?.length ? { platforms: options.platforms.map(parsePlatform) } : {}) };
    else if (options.fromDir) source = { kind: 'directory', dir: options.fromDir };
    else {
      source = {
        kind: 'binaries',
        files: (options.binaries ?? []).map((b) => {
          const eq = b.indexOf('=');
          if (eq <= 0) throw new Error(`"${b}": want os/arch=path`);
          return { platform: parsePlatform(b.slice(0, eq)), file: b.slice(eq + 1) };
        }),
      };
    }
    const files = await packagePlugin(out, source);
    for (const f of files) options.io.out.write(`${formatPlatform(f.platform)}: ${f.path}\n`);
    return { exitCode: 0, items: files.map((f) => ({ plugin: formatPlatform(f.platform), path: f.path, status: 'installed' })) };
  } catch (err) {
    options.io.err.write(`package error: ${message(err)}\n`);
    return { exitCode: 1, items: [{ plugin: out, status: 'failed', error: message(err) }] };
  }
}

/** `runner fleeting publish [--dir dist] <registry/repo/name:version>`: prints `<ref>@<digest>`. */
export async function publishCommand(options: RegistryOptions & { dir?: string; target: string; io: CommandIO; signal?: AbortSignal }): Promise<CommandResult> {
  try {
    const r = await publish(options.dir ?? 'dist', options.target, options);
    options.io.out.write(`${r.reference}\n`);
    return { exitCode: 0, items: [{ plugin: options.target, path: r.reference, status: 'installed' }] };
  } catch (err) {
    options.io.err.write(`publish error: ${message(err)}\n`);
    return { exitCode: 1, items: [{ plugin: options.target, status: 'failed', error: message(err) }] };
  }
}

/** `runner fleeting bundle export -o <file> <ref>…`: one line per bundled plugin with its sha256. */
export async function bundleExportCommand(options: { references: readonly string[]; file: string; pluginDir?: string; platform?: string; io: CommandIO; signal?: AbortSignal }): Promise<CommandResult> {
  try {
    const platform = options.platform ? parsePlatform(options.platform) : undefined;
    const index = await bundleExport(options.references, options.file, { pluginDir: options.pluginDir, platform, signal: options.signal });
    for (const p of index.plugins) options.io.out.write(`${p.reference} ${p.version} sha256:${p.sha256}\n`);
    return { exitCode: 0, items: index.plugins.map((p) => ({ plugin: p.reference, version: p.version, status: 'found', path: p.path })) };
  } catch (err) {
    options.io.err.write(`bundle export error: ${message(err)}\n`);
    return { exitCode: 1, items: [{ plugin: options.file, status: 'failed', error: message(err) }] };
  }
}

/** `runner fleeting bundle import <file>`: installs what the bundle holds; one line per plugin. */
export async function bundleImportCommand(options: { file: string; pluginDir?: string; platform?: string; io: CommandIO; signal?: AbortSignal }): Promise<CommandResult> {
  try {
    const platform = options.platform ? parsePlatform(options.platform) : undefined;
    const results = await bundleImport(options.file, { pluginDir: options.pluginDir, platform, signal: options.signal });
    const items: CommandItem[] = results.map((r) => ({ plugin: r.entry.reference, version: r.entry.version, path: r.path, status: r.status }));
    for (const r of results) {
      const where = r.path ? `, path: ${r.path}` : ` (for ${formatPlatform(r.entry.platform)}, not this platform)`;
      options.io.out.write(`plugin: ${r.entry.reference}, version: ${r.entry.version}, ${r.status}${where}\n`);
    }
    return { exitCode: 0, items };
  } catch (err) {
    options.io.err.write(`bundle import error: ${message(err)}\n`);
    return { exitCode: 1, items: [{ plugin: options.file, status: 'failed', error: message(err) }] };
  }
}
