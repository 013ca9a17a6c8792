import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { once } from 'node:events';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { errorKind, installerError } from './errors.js';
import type { Descriptor } from './manifest.js';
import { layerCompression } from './manifest.js';
import { readTar, safeEntryPath } from './tar-reader.js';

/** Limits and hooks for {@link extractPlugin}. */
export interface ExtractOptions {
  /** Names (normalized relative paths) that count as the plugin, e.g. `plugin`, `Files/plugin.exe`. */
  names: readonly string[];
  /** Where to write the plugin (created with mode 0755; must not exist). */
  target: string;
  /** Cap on both compressed and uncompressed bytes; default 512 MiB. */
  maxBytes?: number;
  /** Called as compressed bytes arrive: received so far, expected total. */
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal;
}

/** What extraction saw. */
export interface ExtractResult {
  /** True when the layer held the plugin (written to `target`). */
  found: boolean;
  /** Plugin size in bytes. */
  pluginBytes: number;
}

/** Default cap for a layer, compressed and uncompressed, in bytes. */
export const DEFAULT_MAX_LAYER_BYTES = 512 << 20;

class Meter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  constructor(
    private readonly limit: number,
    private readonly onLimit: (n: number) => Error,
    private readonly onChunk: ((n: number) => void) | undefined,
    private readonly hashing: boolean,
  ) {
    super({ highWaterMark: 1 << 20 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      cb(this.onLimit(this.bytes));
      return;
    }
    if (this.hashing) this.hash.update(chunk);
    this.onChunk?.(this.bytes);
    cb(null, chunk);
  }
}

/**
 * Streams a layer blob through sha256 + size checks, gunzip and the tar reader, writing only the plugin entry.
 * The digest is verified after the whole blob was read; the caller renames `target` into place only on success.
 * Refuses entries with absolute paths, `..`, links and devices, and layers over the byte cap.
 */
export async function extractPlugin(blob: Readable, layer: Descriptor, options: ExtractOptions): Promise<ExtractResult> {
  const max = options.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
  if (layer.size > max) throw installerError('too_large', `layer ${layer.digest} is ${layer.size} bytes, over the limit of ${max}`);
  const compression = layerCompression(layer.mediaType);
  const wire = new Meter(
    layer.size,
    (n) => installerError('digest_mismatch', `layer ${layer.digest}: registry sent more than the ${layer.size} bytes it announced (${n})`),
    (n) => options.onProgress?.(n, layer.size),
    true,
  );
  const plain = new Meter(max, (n) => installerError('too_large', `layer ${layer.digest} unpacks to more than ${max} bytes (${n})`), undefined, false);
  const result: ExtractResult = { found: false, pluginBytes: 0 };
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const entry of readTar(source)) {
      const path = safeEntryPath(entry.header.name);
      const t = entry.header.type;
      if (t === 'symlink' || t === 'hardlink') throw installerError('unsafe_archive', `tar entry "${entry.header.name}" is a link (to "${entry.header.linkname}")`);
      if (t === 'other') throw installerError('unsafe_archive', `tar entry "${entry.header.name}" is not a regular file or directory`);
      if (t !== 'file' || !options.names.includes(path)) continue;
      if (result.found) throw installerError('unsafe_archive', `layer ${layer.digest} holds "${path}" twice`);
      result.found = true;
      // A write stream lets the disk work while the next chunks are inflated; awaiting each write would not.
      const out = createWriteStream(options.target, { flags: 'wx', mode: 0o755, highWaterMark: 4 << 20 });
      const closed = finished(out);
      try {
        for await (const chunk of entry.body) {
          result.pluginBytes += chunk.length;
          if (!out.write(chunk)) await once(out, 'drain');
        }
        out.end();
      } catch (err) {
        out.destroy();
        throw err;
      } finally {
        await closed.catch(() => undefined);
      }
      if (out.errored) throw installerError('io', `writing ${options.target}: ${out.errored.message}`, { cause: out.errored });
      await chmod(options.target, 0o755);
    }
  };
  try {
    if (compression === 'gzip') await pipeline(blob, wire, createGunzip({ chunkSize: 256 << 10 }), plain, consume, { signal: options.signal });
    else await pipeline(blob, wire, plain, consume, { signal: options.signal });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    if (wire.bytes < layer.size && errorKind(err) !== 'unsafe_archive' && errorKind(err) !== 'too_large') {
      throw installerError('truncated', `layer ${layer.digest}: download ended after ${wire.bytes} of ${layer.size} bytes`, { cause: err });
    }
    if (errorKind(err) !== undefined) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw installerError('bad_artifact', `layer ${layer.digest}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  if (wire.bytes !== layer.size) throw installerError('truncated', `layer ${layer.digest}: download ended after ${wire.bytes} of ${layer.size} bytes`);
  const digest = 'sha256:' + wire.hash.digest('hex');
  if (digest !== layer.digest) throw installerError('digest_mismatch', `layer content has digest ${digest}, the manifest says ${layer.digest}`);
  return result;
}
