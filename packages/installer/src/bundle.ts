import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { RunnerError, openAtomicWrite } from '@fleetrunner/common';
import { writeTar, type TarMember } from '@fleetrunner/common/tar';
import { installerError } from './errors.js';
import { INSTALL_RECORD, installDir, pluginHome } from './install-dir.js';
import { commitVersionDir, makeTempVersionDir, type InstallRecord } from './install.js';
import { installedVersions, lookPath, type LookupOptions } from './lookup.js';
import { hostPlatform, pluginFileName, type Platform } from './platform.js';
import { formatReference, parseReference } from './reference.js';
import { parseSemVer } from './semver.js';
import { readTar, safeEntryPath } from './tar-reader.js';

/** Name of the index entry, always first in a bundle. */
export const BUNDLE_INDEX = 'bundle.json';

/** One plugin in a bundle: where it came from, its digests, and its path inside the tarball. */
export interface BundleEntry extends InstallRecord {
  /** `plugins/<registry>/<repo>/<name>/<version>/plugin` */
  path: string;
}

/** The bundle index. */
export interface BundleIndex {
  schemaVersion: 1;
  plugins: BundleEntry[];
}

async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(path)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

async function readRecord(dir: string): Promise<Partial<InstallRecord>> {
  try {
    const json: unknown = JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8'));
    return typeof json === 'object' && json !== null ? (json as Partial<InstallRecord>) : {};
  } catch {
    return {};
  }
}

/**
 * Writes one gzip tarball with the installed plugins `references` resolve to (each at the version the local
 * lookup picks), and `bundle.json` listing each with its digests and sha256, for sites without registry access.
 * The file appears only once complete.
 */
export async function bundleExport(references: readonly string[], file: string, options: LookupOptions & { signal?: AbortSignal } = {}): Promise<BundleIndex> {
  const root = options.pluginDir ?? installDir();
  const platform = options.platform ?? hostPlatform();
  const entries: { entry: BundleEntry; source: string }[] = [];
  for (const raw of references) {
    try {
      const found = await lookPath(raw, { ...options, pluginDir: root, platform });
      if (found.source !== 'installed' || !found.version) throw installerError('not_installed', `resolves to ${found.path}, which was not installed from a registry`);
      const ref = parseReference(raw);
      const rec = await readRecord(dirname(found.path));
      const { sha256, size } = await sha256File(found.path);
      if (rec.sha256 && rec.sha256 !== sha256) throw installerError('digest_mismatch', `${found.path} changed since it was installed (sha256 ${sha256}, recorded ${rec.sha256})`);
      const entry: BundleEntry = {
        reference: formatReference(ref),
        registry: ref.registry,
        repository: ref.repository,
        name: ref.name,
        version: found.version,
        platform,
        tagDigest: rec.tagDigest ?? '',
        manifestDigest: rec.manifestDigest ?? '',
        layerDigest: rec.layerDigest ?? '',
        sha256,
        size,
        path: ['plugins', ref.registry, ...ref.repository.split('/').filter(Boolean), ref.name, found.version, pluginFileName(platform)].join('/'),
      };
      if (!entries.some((e) => e.entry.path === entry.path)) entries.push({ entry, source: found.path });
    } catch (err) {
      throw RunnerError.wrap(`bundling ${raw}`, err);
    }
  }
  const index: BundleIndex = { schemaVersion: 1, plugins: entries.map((e) => e.entry) };
  const indexBytes = Buffer.from(JSON.stringify(index, null, 2) + '\n');
  async function* members(): AsyncGenerator<TarMember> {
    yield { name: BUNDLE_INDEX, type: 'file', size: indexBytes.length, body: indexBytes };
    for (const { entry, source } of entries) {
      const body = async function* (): AsyncGenerator<Buffer> {
        let sent = 0;
        for await (const c of createReadStream(source, { highWaterMark: 1 << 20, end: entry.size - 1 })) {
          sent += (c as Buffer).length;
          yield c as Buffer;
        }
        if (sent !== entry.size) throw installerError('io', `${source} changed size while bundling`);
      };
      yield { name: entry.path, type: 'file', size: entry.size, mode: 0o755, body: body() };
    }
  }
  const out = await openAtomicWrite(file, { mode: 0o644 });
  try {
    await pipeline(Readable.from(writeTar(members())), createGzip(), out.stream, { signal: options.signal });
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return index;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseIndex(body: Buffer): BundleIndex {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw installerError('bad_bundle', `${BUNDLE_INDEX} is not JSON`, { cause: err });
  }
  if (!isRecord(json) || json['schemaVersion'] !== 1 || !Array.isArray(json['plugins'])) throw installerError('bad_bundle', `${BUNDLE_INDEX} is not a schemaVersion 1 bundle index`);
  const plugins = json['plugins'].map((p: unknown, i): BundleEntry => {
    const bad = (why: string): never => {
      throw installerError('bad_bundle', `${BUNDLE_INDEX} plugins[${i}]: ${why}`);
    };
    if (!isRecord(p)) return bad('not an object');
    const s = (k: string): string => (typeof p[k] === 'string' ? (p[k] as string) : bad(`${k} missing`));
    const version = s('version');
    if (!parseSemVer(version)) bad(`version "${version}" is not semver`);
    const sha256 = s('sha256');
    if (!/^[a-f0-9]{64}$/.test(sha256)) bad('sha256 malformed');
    const size = p['size'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad('size malformed');
    const platform = isRecord(p['platform']) ? p['platform'] : bad('platform missing');
    const os = typeof platform['os'] === 'string' ? platform['os'] : bad('platform.os missing');
    const architecture = typeof platform['architecture'] === 'string' ? platform['architecture'] : bad('platform.architecture missing');
    // Re-derive registry/repository/name through the reference parser so that no path component is trusted raw.
    const ref = parseReference(`${s('registry')}/${s('repository') ? s('repository') + '/' : ''}${s('name')}:${version}`);
    const plat: Platform = typeof platform['variant'] === 'string' ? { os, architecture, variant: platform['variant'] } : { os, architecture };
    return {
      reference: s('reference'),
      registry: ref.registry,
      repository: ref.repository,
      name: ref.name,
      version,
      platform: plat,
      tagDigest: typeof p['tagDigest'] === 'string' ? p['tagDigest'] : '',
      manifestDigest: typeof p['manifestDigest'] === 'string' ? p['manifestDigest'] : '',
      layerDigest: typeof p['layerDigest'] === 'string' ? p['layerDigest'] : '',
      sha256,
      size: size as number,
      path: safeEntryPath(s('path')),
    };
  });
  return { schemaVersion: 1, plugins };
}

/** What importing one bundle entry did. */
export interface BundleImportResult {
  entry: BundleEntry;
  status: 'installed' | 'present' | 'skipped';
  /** Installed executable (for `installed`/`present`). */
  path?: string;
}

/**
 * Installs the plugins of a bundle made by {@link bundleExport}: streams the tarball, checks each plugin's size
 * and sha256 against `bundle.json`, installs each atomically (as `install` does). Entries for another platform are
 * `skipped`; versions already installed are `present`. Throws `bad_bundle` when an entry is missing or altered.
 */
export async function bundleImport(file: string, options: LookupOptions & { signal?: AbortSignal } = {}): Promise<BundleImportResult[]> {
  const root = options.pluginDir ?? installDir();
  const platform = options.platform ?? hostPlatform();
  const results = new Map<string, BundleImportResult>();
  let index: BundleIndex | undefined;
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const e of readTar(source)) {
      const name = safeEntryPath(e.header.name);
      if (!index) {
        if (name !== BUNDLE_INDEX || e.header.size > 4 << 20) throw installerError('bad_bundle', `not a plugin bundle: first entry is "${name}", not ${BUNDLE_INDEX}`);
        const parts: Buffer[] = [];
        for await (const c of e.body) parts.push(c);
        index = parseIndex(Buffer.concat(parts));
        continue;
      }
      const entry = index.plugins.find((p) => p.path === name);
      if (!entry || e.header.type !== 'file') throw installerError('bad_bundle', `entry "${name}" is not listed in ${BUNDLE_INDEX}`);
      if (entry.platform.os !== platform.os || entry.platform.architecture !== platform.architecture) {
        results.set(name, { entry, status: 'skipped' });
        continue;
      }
      const ref = parseReference(`${entry.registry}/${entry.repository ? entry.repository + '/' : ''}${entry.name}:${entry.version}`);
      const home = pluginHome(root, ref);
      const dest = join(home, entry.version);
      const bin = join(dest, pluginFileName(platform));
      if ((await installedVersions(ref, { pluginDir: root, platform })).includes(entry.version)) {
        results.set(name, { entry, status: 'present', path: bin });
        continue;
      }
      const tmp = await makeTempVersionDir(home, entry.version);
      try {
        const h = createHash('sha256');
        let size = 0;
        const fh = await open(join(tmp, pluginFileName(platform)), 'wx', 0o755);
        try {
          for await (const c of e.body) {
            h.update(c);
            size += c.length;
            await fh.write(c);
          }
          await fh.chmod(0o755);
        } finally {
          await fh.close();
        }
        const sha = h.digest('hex');
        if (size !== entry.size || sha !== entry.sha256) {
          throw installerError('digest_mismatch', `${entry.reference} ${entry.version}: content has sha256 ${sha} (${size} bytes), ${BUNDLE_INDEX} says ${entry.sha256} (${entry.size} bytes)`);
        }
        const { path: _path, ...record } = entry;
        await writeFile(join(tmp, INSTALL_RECORD), JSON.stringify(record, null, 2) + '\n');
        const ok = await commitVersionDir(tmp, dest);
        results.set(name, { entry, status: ok ? 'installed' : 'present', path: bin });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  };
  try {
    await stat(file);
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createGunzip(), consume, { signal: options.signal });
    if (!index) throw installerError('bad_bundle', 'empty bundle');
    const missing = index.plugins.filter((p) => !results.has(p.path));
    if (missing.length > 0) throw installerError('bad_bundle', `bundle lacks ${missing.map((m) => m.path).join(', ')}`);
    return index.plugins.map((p) => results.get(p.path) as BundleImportResult);
  } catch (err) {
    throw RunnerError.wrap(`importing bundle ${file}`, err);
  }
}
