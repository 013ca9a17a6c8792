import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RunnerError } from '@fleetrunner/common';
import { writeTar, type TarMember } from '@fleetrunner/common/tar';
import { MediaType } from './manifest.js';
import { readDistLayout } from './package.js';
import { formatPlatform, pluginFileName, type Platform } from './platform.js';
import { parseImageTarget } from './reference.js';
import type { RegistryOptions } from './registry-client.js';
import { RegistryPool } from './registry-pool.js';

/** Options for {@link publish}. */
export interface PublishOptions extends RegistryOptions {
  pool?: RegistryPool;
  signal?: AbortSignal;
}

/** One pushed platform image. */
export interface PublishedPlatform {
  platform: Platform;
  manifestDigest: string;
  layerDigest: string;
  /** Compressed layer size in bytes. */
  layerSize: number;
}

/** What {@link publish} pushed: `reference` is `registry/repo:tag@sha256:…` (what `fleeting-artifact` prints). */
export interface PublishResult {
  reference: string;
  digest: string;
  platforms: PublishedPlatform[];
}

interface BuiltLayer {
  file: string;
  digest: string;
  diffId: string;
  size: number;
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** The layer entries for `platform`: `plugin` at the root, or `Files/plugin.exe` (with its directory) on Windows. */
function layerEntries(platform: Platform): { dirs: string[]; file: string } {
  if (platform.os === 'windows') return { dirs: ['Files/'], file: `Files/${pluginFileName(platform)}` };
  return { dirs: [], file: pluginFileName(platform) };
}

/** Writes a reproducible gzip tar layer holding only the plugin (mode 0755, owner root, mtime 0). */
async function buildLayer(pluginPath: string, platform: Platform, workDir: string, signal?: AbortSignal): Promise<BuiltLayer> {
  const size = (await stat(pluginPath)).size;
  const { dirs, file } = layerEntries(platform);
  // No mtime and no owner: writeTar's defaults (the epoch, root) make the layer reproducible.
  const members: TarMember[] = [
    ...dirs.map((d): TarMember => ({ name: d, type: 'directory', mode: 0o755 })),
    { name: file, type: 'file', size, mode: 0o755, body: createReadStream(pluginPath, { highWaterMark: 1 << 20 }) },
  ];
  const plain = new Hasher();
  const packed = new Hasher();
  const out = join(workDir, `layer-${platform.os}-${platform.architecture}${platform.variant ?? ''}.tar.gz`);
  await pipeline(Readable.from(writeTar(members)), plain, createGzip(), packed, createWriteStream(out), { signal });
  return { file: out, digest: 'sha256:' + packed.hash.digest('hex'), diffId: 'sha256:' + plain.hash.digest('hex'), size: packed.bytes };
}

function digestOf(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/**
 * Publishes a `dist/<os>/<arch>/plugin` layout as one multi-platform artifact, as `fleeting-artifact release`
 * does: per platform a gzip tar layer holding `plugin`, an OCI image config with os/architecture/variant and an
 * OCI image manifest; then an OCI image index tagged `target`'s version. Blobs the registry has are not sent.
 */
export async function publish(dir: string, target: string, options: PublishOptions = {}): Promise<PublishResult> {
  const image = parseImageTarget(target);
  const files = await readDistLayout(dir);
  const pool = options.pool ?? new RegistryPool(options);
  const client = pool.get(image.registry);
  const work = await mkdtemp(join(tmpdir(), 'fleetrunner-publish-'));
  const signal = options.signal;
  try {
    const platforms: PublishedPlatform[] = [];
    const entries: { mediaType: string; digest: string; size: number; platform: Platform }[] = [];
    for (const { platform, path } of files) {
      const layer = await buildLayer(path, platform, work, signal);
      const config = Buffer.from(
        JSON.stringify({
          architecture: platform.architecture,
          os: platform.os,
          ...(platform.variant ? { variant: platform.variant } : {}),
          config: {},
          rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        }),
      );
      const configDigest = digestOf(config);
      if (!(await client.hasBlob(image.repository, layer.digest, { signal }))) {
        await client.pushBlob(image.repository, layer.digest, layer.size, () => createReadStream(layer.file, { highWaterMark: 1 << 20 }), { signal });
      }
      if (!(await client.hasBlob(image.repository, configDigest, { signal }))) {
        await client.pushBlob(image.repository, configDigest, config.length, config, { signal });
      }
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
          layers: [{ mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size }],
        }),
      );
      const manifestDigest = digestOf(manifest);
      await client.pushManifest(image.repository, manifestDigest, MediaType.ociManifest, manifest, { signal });
      const p: Platform = { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) };
      entries.push({ mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifest.length, platform: p });
      platforms.push({ platform, manifestDigest, layerDigest: layer.digest, layerSize: layer.size });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }));
    await client.pushManifest(image.repository, image.tag, MediaType.ociIndex, index, { signal });
    const digest = digestOf(index);
    return { reference: `${image.registry}/${image.repository}:${image.tag}@${digest}`, digest, platforms };
  } catch (err) {
    throw RunnerError.wrap(`publishing ${dir} to ${target}`, err);
  } finally {
    await rm(work, { recursive: true, force: true });
    if (!options.pool) pool.close();
  }
}

/** `os/arch` list of a publish result, for messages. */
export function describePlatforms(r: PublishResult): string {
  return r.platforms.map((p) => formatPlatform(p.platform)).join(', ');
}
