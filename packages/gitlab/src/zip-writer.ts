import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zconst } from 'node:zlib';
import { ZipFile } from 'yazl';
import { throwIfAborted } from '@fleetrunner/common';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './zip-format.js';

/** One archive member. Exactly one of `data`, `file`, `stream`, `symlinkTarget` (or none for a directory). */
export interface ZipEntrySource {
  /** Path inside the archive with `/` separators; a directory's ends with `/`. */
  name: string;
  /** Unix mode including type bits. Default: 0o100644 file, 0o040755 directory, 0o120777 symlink. */
  mode?: number;
  /** Modification time. Default: the start of the ZIP format's epoch (1980-01-01 UTC), for reproducible archives. */
  mtime?: Date;
  data?: string | Uint8Array;
  /** Read from this file on disk when the entry is written. */
  file?: string;
  /** A byte stream (read once, when the entry's turn comes). */
  stream?: Readable | AsyncIterable<Uint8Array>;
  symlinkTarget?: string;
  /** Uncompressed size when known in advance: checked against the bytes the entry turns out to hold. */
  size?: number;
  /** Default `deflate` for content, `store` for directories and symlinks. */
  method?: 'store' | 'deflate';
}

/** Options of {@link zipStream}. */
export interface ZipWriterOptions {
  /** zlib level 0–9. Default 6 (zlib's default), as GitLab Runner's fastzip-less path uses. */
  level?: number;
  signal?: AbortSignal;
}

const ZIP_EPOCH = new Date(Date.UTC(1980, 0, 1));
/** Output is handed out in blocks of at least this size: headers and small members come in many tiny pieces. */
const BLOCK = 64 * 1024;

function invalid(entry: ZipEntrySource, problem: string): RangeError {
  return new RangeError(`zip: entry ${JSON.stringify(entry.name)}: ${problem}`);
}

/** The entry's Unix mode with its type bits filled in. */
function typedMode(entry: ZipEntrySource, isDir: boolean, isLink: boolean): number {
  const type = isDir ? S_IFDIR : isLink ? S_IFLNK : S_IFREG;
  const mode = entry.mode ?? type | (isDir ? 0o755 : isLink ? 0o777 : 0o644);
  return (mode & S_IFMT) === 0 ? mode | type : mode;
}

function contentOf(entry: ZipEntrySource): Readable | undefined {
  if (entry.file !== undefined) return createReadStream(entry.file);
  if (entry.stream instanceof Readable) return entry.stream;
  if (entry.stream !== undefined) return Readable.from(entry.stream, { objectMode: false });
  return undefined;
}

/**
 * yazl 3.3.1 finds the next member to write by scanning its member list from the start at every step, which is
 * quadratic in the member count (70 000 members: 36 s instead of 1 s). Members it has finished are parked here and
 * handed back before `end()`, when it writes the central directory from the whole list. Should the list not be
 * where this expects it (another yazl), nothing is parked: slower, never wrong.
 */
class WrittenMembers {
  private readonly parked: unknown[] = [];

  constructor(private readonly zip: ZipFile) {}

  private list(): { state?: unknown }[] | undefined {
    const entries = (this.zip as unknown as { entries?: unknown }).entries;
    return Array.isArray(entries) ? (entries as { state?: unknown }[]) : undefined;
  }

  park(): void {
    const list = this.list();
    if (!list) return;
    let n = 0;
    while (n < list.length && list[n]!.state === YAZL_FILE_DATA_DONE) n++;
    // Keep the last finished one in place: yazl may still be moving on from it.
    if (n > 1) for (const e of list.splice(0, n - 1)) this.parked.push(e);
  }

  restore(): void {
    const list = this.list();
    if (!list || this.parked.length === 0) return;
    const all = this.parked.splice(0).concat(list);
    list.length = 0;
    for (const e of all) list.push(e as { state?: unknown });
  }
}
const YAZL_FILE_DATA_DONE = 3;

/** The member being read by yazl: destroyed when the archive is abandoned, named in yazl's errors. */
interface Current {
  name: string;
  content?: Readable;
}

/**
 * Hands `entry` to yazl. Resolves once its content has been read to the end (so the next member of a tar stream
 * may be pulled), or at once for a directory or a symlink; rejects when reading the content fails.
 */
function addEntry(zip: ZipFile, entry: ZipEntrySource, level: number, current: Current): Promise<void> {
  const isDir = entry.name.endsWith('/');
  const isLink = entry.symlinkTarget !== undefined;
  if (entry.name === '' || entry.name.startsWith('/') || entry.name.includes('\\')) throw invalid(entry, 'not a relative path with "/" separators');
  const mode = typedMode(entry, isDir, isLink);
  const mtime = entry.mtime ?? ZIP_EPOCH;
  current.name = entry.name;
  delete current.content;
  if (isDir) {
    zip.addEmptyDirectory(entry.name, { mtime, mode });
    return Promise.resolve();
  }
  if (isLink) {
    zip.addBuffer(Buffer.from(entry.symlinkTarget!), entry.name, { mtime, mode, compress: false });
    return Promise.resolve();
  }
  const compressionLevel = entry.method === 'store' ? 0 : level;
  if (entry.data !== undefined) {
    // In memory already: yazl records its size and CRC in the local header.
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    if (entry.size !== undefined && entry.size !== data.length) throw invalid(entry, `holds ${data.length} bytes, not the ${entry.size} given`);
    zip.addBuffer(data, entry.name, { mtime, mode, compressionLevel });
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    zip.addReadStreamLazy(entry.name, { mtime, mode, compressionLevel, ...(entry.size !== undefined ? { size: entry.size } : {}) }, (cb) => {
      const content = contentOf(entry) ?? Readable.from([], { objectMode: false });
      current.content = content;
      content.once('error', reject);
      content.once('end', () => resolve());
      cb(null, content);
    });
  });
}

/**
 * Streams a ZIP archive built from `entries` (pulled one at a time: a member's content is read to its end before
 * the next member is asked for) with yazl: data descriptors, DEFLATE or STORE, Unix modes, mtimes (DOS fields and
 * the 0x5455 extended timestamp) and ZIP64 records where an entry, the archive or the entry count needs them.
 * `unzip`, Python's zipfile and GitLab read it.
 */
export async function* zipStream(entries: Iterable<ZipEntrySource> | AsyncIterable<ZipEntrySource>, options: ZipWriterOptions = {}): AsyncGenerator<Buffer> {
  const zip = new ZipFile();
  const out = zip.outputStream as Readable;
  const level = options.level ?? zconst.Z_DEFAULT_COMPRESSION;
  const current: Current = { name: '' };
  const written = new WrittenMembers(zip);
  let failure: Error | undefined;
  const fail = (err: unknown): void => {
    if (failure) return;
    failure = err instanceof Error ? err : new Error(String(err));
    // yazl's own messages ("file data stream has unexpected number of bytes") do not say which member.
    if (!(err instanceof RangeError) && !(failure as { code?: unknown }).code && current.name) failure.message = `zip: entry ${JSON.stringify(current.name)}: ${failure.message}`;
    out.destroy(failure);
  };
  zip.on('error', fail);
  const fed = (async () => {
    for await (const entry of entries) {
      if (failure) return;
      throwIfAborted(options.signal);
      written.park();
      await addEntry(zip, entry, level, current);
    }
    written.restore();
    zip.end();
  })().catch(fail);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of out) {
      pending.push(chunk as Buffer);
      pendingBytes += (chunk as Buffer).length;
      if (pendingBytes >= BLOCK) {
        yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  } catch (err) {
    throw failure ?? err;
  } finally {
    // Abandoned (or failed) half-way: stop the member being read; the feeding loop then ends and closes `entries`.
    if (!out.readableEnded) {
      fail(new Error('zip: the archive was abandoned before its end'));
      current.content?.destroy(failure);
    } else await fed;
  }
  if (failure) throw failure;
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** Writes the archive of {@link zipStream} to `file`; resolves to its size in bytes. */
export async function writeZipFile(file: string, entries: Iterable<ZipEntrySource> | AsyncIterable<ZipEntrySource>, options: ZipWriterOptions = {}): Promise<number> {
  let size = 0;
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of zipStream(entries, options)) {
      size += chunk.length;
      yield chunk;
    }
  };
  await pipeline(Readable.from(counted()), createWriteStream(file), ...(options.signal ? [{ signal: options.signal }] : []));
  return size;
}
