import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { RunnerError, abortError } from '@fleetrunner/common';
import { RegistryPool, errorKind, packagePlugin, parseSemVer, publish, type PackagedFile, type PublishResult, type RegistryOptions } from '@fleetrunner/installer';
import { bundlePlugin, type BundleResult } from './bundle.js';
import { readPluginRelease } from './release-config.js';

/** Repository path under the registry that plugins are published to unless told otherwise. */
export const DEFAULT_RELEASE_REPOSITORY = 'fleetrunner/plugins';

/** Options of {@link releasePlugin}. */
export interface ReleaseOptions extends RegistryOptions {
  /** Registry `host[:port]`; required unless `dryRun`. */
  registry?: string;
  /** Repository path under the registry; default {@link DEFAULT_RELEASE_REPOSITORY}. */
  repository?: string;
  /** Version to publish (semver, no `v`); default the package.json `version`. */
  version?: string;
  /** Compile the plugin with `tsc -b` first; default true. */
  build?: boolean;
  /** Where the bundle and the `<os>/<arch>/plugin` layout go; default `<plugin>/dist/release`. */
  outDir?: string;
  /** Publish even when the version tag exists (it is moved). Default false: an existing version is refused. */
  force?: boolean;
  /** Bundle and package only. */
  dryRun?: boolean;
  /** Whitespace/syntax minification of the bundle; default true. */
  minify?: boolean;
  signal?: AbortSignal;
  /** Called with one line per finished step. */
  onStep?: (line: string) => void;
}

/** What {@link releasePlugin} did. */
export interface ReleaseResult {
  name: string;
  version: string;
  /** `registry/repository/name:version`, or undefined on a dry run without a registry. */
  target?: string;
  bundle: BundleResult;
  packaged: PackagedFile[];
  published?: PublishResult;
}

/** Runs `tsc -b <dir>` with the workspace's TypeScript; rejects with its output when it fails. */
export async function compile(dir: string, signal?: AbortSignal): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-b', dir], { stdio: ['ignore', 'pipe', 'pipe'], signal });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (signal?.aborted) throw abortError(signal);
  if (code !== 0) throw new RunnerError('invalid_argument', `compiling ${dir} (tsc -b exited with ${code}): ${output.trim().slice(0, 4000)}`);
}

async function publishedTags(pool: RegistryPool, registry: string, repository: string, signal?: AbortSignal): Promise<string[]> {
  try {
    return await pool.get(registry).listTags(repository, { signal });
  } catch (err) {
    if (errorKind(err) === 'unknown_plugin') return [];
    throw err;
  }
}

/**
 * Releases one plugin package: compiles it, bundles it into one self-contained JS file, lays that file out for
 * every platform (`<out>/oci/<os>/<arch>/plugin`) and publishes the multi-platform artifact as
 * `<registry>/<repository>/<name>:<version>`. A version that is already in the registry is refused unless
 * `force`. Errors are RunnerErrors wrapped `releasing <package>: …`.
 */
export async function releasePlugin(pluginDir: string, options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const release = await readPluginRelease(pluginDir);
  const version = options.version ?? release.version;
  const step = options.onStep ?? (() => undefined);
  try {
    if (!parseSemVer(version)) throw new RunnerError('invalid_argument', `version "${version}": expected semver without "v"`);
    if (!options.dryRun && !options.registry) throw new RunnerError('invalid_argument', 'a registry (host[:port]) is needed to publish');
    const repository = (options.repository ?? DEFAULT_RELEASE_REPOSITORY).replace(/^\/+|\/+$/g, '');
    const target = options.registry ? `${options.registry}/${repository}/${release.name}:${version}` : undefined;
    const label = `${release.name} ${version}`;
    const outDir = options.outDir ?? join(release.dir, 'dist', 'release');
    const pool = new RegistryPool(options);
    try {
      if (target && options.registry && !options.dryRun && !options.force) {
        const tags = await publishedTags(pool, options.registry, `${repository}/${release.name}`, options.signal);
        if (tags.includes(version)) {
          throw new RunnerError('invalid_argument', `${target} is already published; raise "version" in ${join(release.dir, 'package.json')} or pass --force`, {
            details: { kind: 'already_published' },
          });
        }
      }
      if (options.build ?? true) {
        await compile(release.dir, options.signal);
        step(`${label}: compiled ${release.dir}`);
      }
      const bundle = await bundlePlugin(release, { outFile: join(outDir, 'plugin.js'), version, minify: options.minify });
      step(`${label}: bundled ${bundle.file} (${(bundle.bytes / 1024).toFixed(1)} KiB, ${bundle.modules} modules, ${Math.round(bundle.durationMs)} ms, ${bundle.sha256})`);
      const layout = join(outDir, 'oci');
      await rm(layout, { recursive: true, force: true });
      const packaged = await packagePlugin(layout, { kind: 'script', file: bundle.file, ...(release.platforms ? { platforms: release.platforms } : {}) });
      step(`${label}: packaged ${packaged.map((p) => `${p.platform.os}/${p.platform.architecture}`).join(', ')} in ${layout}`);
      if (options.dryRun || !target) return { name: release.name, version, target, bundle, packaged };
      const published = await publish(layout, target, { ...options, pool, signal: options.signal });
      step(`${label}: published ${published.reference}`);
      return { name: release.name, version, target, bundle, packaged, published };
    } finally {
      pool.close();
    }
  } catch (err) {
    throw RunnerError.wrap(`releasing ${release.packageName}`, err);
  }
}
