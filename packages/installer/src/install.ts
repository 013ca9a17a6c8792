import { randomBytes } from 'node:crypto';
import { abortError } from '@fleetrunner/common';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installerError } from './errors.js';
import { INSTALL_RECORD, installDir, pluginHome } from './install-dir.js';
import { extractPlugin, type ExtractResult } from './layer-extract.js';
import { installedVersions, type LookupOptions } from './lookup.js';
import { hostPlatform, pluginFileName, type Platform } from './platform.js';
import { formatReference, parseReference, repositoryPath, type PluginReference } from './reference.js';
import type { RegistryOptions } from './registry-client.js';
import { RegistryPool } from './registry-pool.js';
import { aboutReference, resolveRemote, type RemotePlugin } from './resolve.js';

/** Options for {@link install}. */
export interface InstallOptions extends RegistryOptions, LookupOptions {
  /** Clients to reuse across installs; default a pool of its own, closed at the end. */
  pool?: RegistryPool;
  /** Byte cap for a layer, compressed and uncompressed; default 512 MiB. */
  maxLayerBytes?: number;
  /** Compressed bytes received / expected, as they arrive. */
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal;
}

/** What {@link install} did. */
export interface InstallResult {
  /** The canonical reference (`registry/repo/name:constraint`). */
  reference: string;
  version: string;
  /** The installed executable. */
  path: string;
  /** `installed`: downloaded now; `present`: that version was installed already. */
  status: 'installed' | 'present';
  /** Digest of the manifest the tag points at (empty for `present`). */
  digest: string;
}

/** What is written beside each installed plugin (`.fleetrunner-install.json`); bundles carry it along. */
export interface InstallRecord {
  reference: string;
  registry: string;
  repository: string;
  name: string;
  version: string;
  platform: Platform;
  tagDigest: string;
  manifestDigest: string;
  layerDigest: string;
  /**
   * sha256 (hex) of the plugin file: empty in records written by `install` (hashing 50 MB twice on the hot path
   * costs more than it protects; the layer digest is verified); set by bundle import, which checks it.
   */
  sha256: string;
  /** Plugin size in bytes. */
  size: number;
}

/** The entry names that count as the plugin in a layer for `platform` (Windows images keep files under `Files/`). */
export function pluginEntryNames(platform: Platform): string[] {
  const f = pluginFileName(platform);
  return platform.os === 'windows' ? [f, `Files/${f}`] : [f];
}

/**
 * Moves a fully written temporary version directory into place. Returns false when that version appeared
 * meanwhile (another install won the race); the temporary directory is then left for the caller to remove.
 */
export async function commitVersionDir(tmp: string, dest: string): Promise<boolean> {
  try {
    await rename(tmp, dest);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw installerError('io', `moving ${tmp} to ${dest}: ${(err as Error).message}`, { cause: err });
  }
}

/** A fresh hidden temporary directory beside the version directories (same filesystem, so rename is atomic). */
export async function makeTempVersionDir(home: string, version: string): Promise<string> {
  await mkdir(home, { recursive: true });
  const tmp = join(home, `.tmp-${version}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  return tmp;
}

async function download(remote: RemotePlugin, pool: RegistryPool, tmp: string, platform: Platform, options: InstallOptions): Promise<{ extract: ExtractResult; layerDigest: string }> {
  const client = pool.get(remote.ref.registry);
  const names = pluginEntryNames(platform);
  const target = join(tmp, pluginFileName(platform));
  for (const layer of remote.layers) {
    const blob = await client.openBlob(repositoryPath(remote.ref), layer.digest, { signal: options.signal });
    const extract = await extractPlugin(blob, layer, { names, target, maxBytes: options.maxLayerBytes, onProgress: options.onProgress, signal: options.signal });
    if (extract.found) return { extract, layerDigest: layer.digest };
  }
  throw installerError('plugin_missing', `version ${remote.version}: no layer holds ${names.map((n) => `"${n}"`).join(' or ')}`);
}

/**
 * Installs the highest version of `reference` its registry has that matches the constraint, for this platform:
 * tags → index → platform manifest → layer streamed through digest check → `plugin` extracted into a temporary
 * directory, renamed to `<root>/<registry>/<repo>/<name>/<version>/` only after the digest verified. A version
 * already installed is left as it is (`present`). Errors name the reference and are RunnerErrors whose
 * `details.kind` says what went wrong; nothing is left half-installed.
 */
export async function install(reference: string | PluginReference, options: InstallOptions = {}): Promise<InstallResult> {
  let ref: PluginReference;
  try {
    ref = typeof reference === 'string' ? parseReference(reference) : reference;
  } catch (err) {
    throw aboutReference(String(reference), err);
  }
  const platform = options.platform ?? hostPlatform();
  const root = options.pluginDir ?? installDir();
  const home = pluginHome(root, ref);
  const pool = options.pool ?? new RegistryPool(options);
  let tmp: string | undefined;
  try {
    const remote = await resolveRemote(pool.get(ref.registry), ref, platform, options.signal);
    const dest = join(home, remote.version);
    const file = pluginFileName(platform);
    if ((await installedVersions(ref, { ...options, pluginDir: root, platform })).includes(remote.version)) {
      return { reference: formatReference(ref), version: remote.version, path: join(dest, file), status: 'present', digest: remote.tagDigest };
    }
    tmp = await makeTempVersionDir(home, remote.version);
    const { extract, layerDigest } = await download(remote, pool, tmp, platform, options);
    const record: InstallRecord = {
      reference: formatReference(ref),
      registry: ref.registry,
      repository: ref.repository,
      name: ref.name,
      version: remote.version,
      platform,
      tagDigest: remote.tagDigest,
      manifestDigest: remote.manifestDigest,
      layerDigest,
      sha256: '',
      size: extract.pluginBytes,
    };
    await writeFile(join(tmp, INSTALL_RECORD), JSON.stringify(record, null, 2) + '\n');
    let status: InstallResult['status'] = 'installed';
    if (await commitVersionDir(tmp, dest)) tmp = undefined;
    else if ((await installedVersions(ref, { ...options, pluginDir: root, platform })).includes(remote.version)) status = 'present';
    else {
      // A version directory without a usable plugin (left by something else) is moved aside, not trusted.
      const stale = join(home, `.stale-${remote.version}-${randomBytes(4).toString('hex')}`);
      await rename(dest, stale);
      if (!(await commitVersionDir(tmp, dest))) throw installerError('io', `${dest} appeared while installing`);
      tmp = stale;
    }
    return { reference: formatReference(ref), version: remote.version, path: join(dest, file), status, digest: remote.tagDigest };
  } catch (err) {
    // Streams reject with a generic AbortError; the caller's own reason says more.
    throw aboutReference(ref, options.signal?.aborted ? abortError(options.signal) : err);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (!options.pool) pool.close();
  }
}
