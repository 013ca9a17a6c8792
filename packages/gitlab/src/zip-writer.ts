import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw, constants as zconst } from 'node:zlib';
import { throwIfAborted } from '@fleetrunner/common';
import * as Z from './zip-format.js';

/** One archive member. Exactly one of `data`, `file`, `stream`, `symlinkTarget` (or none for a directory). */
export interface ZipEntrySource {
  /** Path inside the archive with `/` separators; a directory's ends with `/`. */
  name: string;
  /** Unix mode including type bits. Default: 0o100644 file, 0o040755 directory, 0o120777 symlink. */
  mode?: number;
  /** Modification time. Default: the Unix epoch start of the ZIP format (1980-01-01). */
  mtime?: Date;
  data?: string | Uint8Array;
  /** Read from this file on disk when the entry is written. */
  file?: string;
  /** A byte stream (read once). */
  stream?: Readable | AsyncIterable<Uint8Array>;
  symlinkTarget?: string;
  /** Uncompressed size when known in advance: ≥ 4 GiB entries need it to be written in ZIP64 form. */
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

interface Written {
  name: Buffer;
  method: number;
  flags: number;
  time: number;
  date: number;
  mtime: number;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
  mode: number;
  zip64: boolean;
}

const TOO_BIG = 0xffff0000;

/**
 * Streams a ZIP archive built from `entries` (read lazily, one at a time): local headers with data
 * descriptors, DEFLATE via node:zlib, CRC-32 via zlib.crc32, Unix modes and mtimes, and ZIP64 records when the
 * archive grows past 4 GiB or 65 535 entries. `unzip`, Python's zipfile and GitLab read it.
 */
export async function* zipStream(entries: Iterable<ZipEntrySource> | AsyncIterable<ZipEntrySource>, options: ZipWriterOptions = {}): AsyncGenerator<Buffer> {
  // Headers and small members come in many tiny pieces: hand them out in blocks of at least 64 KiB.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of rawZipStream(entries, options)) {
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes >= 64 * 1024) {
      yield pending.length === 1 ? piece : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

async function* rawZipStream(entries: Iterable<ZipEntrySource> | AsyncIterable<ZipEntrySource>, options: ZipWriterOptions): AsyncGenerator<Buffer> {
  const written: Written[] = [];
  let offset = 0;
  for await (const entry of entries) {
    throwIfAborted(options.signal);
    const w = prepare(entry, offset);
    const header = localHeader(w, entry.mtime);
    yield header;
    offset += header.length;
    for await (const chunk of entryData(entry, w, options.level ?? zconst.Z_DEFAULT_COMPRESSION)) {
      yield chunk;
      offset += chunk.length;
    }
    if (!w.zip64 && (w.usize > Z.MAX_UINT32 || w.csize > Z.MAX_UINT32)) {
      throw new RangeError(`zip: entry ${entry.name} exceeds 4 GiB; give its size in advance`);
    }
    const desc = descriptor(w);
    yield desc;
    offset += desc.length;
    written.push(w);
  }
  yield* centralDirectory(written, offset);
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

function prepare(entry: ZipEntrySource, offset: number): Written {
  const isDir = entry.name.endsWith('/');
  const isLink = entry.symlinkTarget !== undefined;
  if (entry.name === '' || entry.name.startsWith('/') || entry.name.includes('\\')) throw new RangeError(`zip: invalid entry name ${JSON.stringify(entry.name)}`);
  const mode = entry.mode ?? (isDir ? Z.S_IFDIR | 0o755 : isLink ? Z.S_IFLNK | 0o777 : Z.S_IFREG | 0o644);
  const typed = (mode & Z.S_IFMT) === 0 ? mode | (isDir ? Z.S_IFDIR : isLink ? Z.S_IFLNK : Z.S_IFREG) : mode;
  const store = isDir || isLink || entry.method === 'store';
  const { time, date } = Z.dosDateTime(entry.mtime ?? new Date(Date.UTC(1980, 0, 1)));
  return {
    name: Buffer.from(entry.name),
    method: store ? Z.METHOD_STORE : Z.METHOD_DEFLATE,
    flags: Z.FLAG_DESCRIPTOR | Z.FLAG_UTF8,
    time,
    date,
    mtime: Math.floor((entry.mtime?.getTime() ?? Date.UTC(1980, 0, 1)) / 1000),
    crc: 0,
    csize: 0,
    usize: 0,
    offset,
    mode: typed,
    zip64: (entry.size ?? 0) >= TOO_BIG,
  };
}

function timestampExtra(mtime: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(Z.EXTRA_TIMESTAMP, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeUInt32LE(Math.max(0, Math.min(mtime, Z.MAX_UINT32)), 5);
  return b;
}

function localHeader(w: Written, mtime: Date | undefined): Buffer {
  const extras: Buffer[] = [];
  if (w.zip64) {
    const z = Buffer.alloc(20);
    z.writeUInt16LE(Z.EXTRA_ZIP64, 0);
    z.writeUInt16LE(16, 2); // sizes follow in the data descriptor; zeros here
    extras.push(z);
  }
  if (mtime) extras.push(timestampExtra(w.mtime));
  const extra = Buffer.concat(extras);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(Z.SIG_LOCAL, 0);
  h.writeUInt16LE(w.zip64 ? Z.VERSION_ZIP64 : Z.VERSION_DEFAULT, 4);
  h.writeUInt16LE(w.flags, 6);
  h.writeUInt16LE(w.method, 8);
  h.writeUInt16LE(w.time, 10);
  h.writeUInt16LE(w.date, 12);
  h.writeUInt32LE(0, 14);
  h.writeUInt32LE(w.zip64 ? Z.MAX_UINT32 : 0, 18);
  h.writeUInt32LE(w.zip64 ? Z.MAX_UINT32 : 0, 22);
  h.writeUInt16LE(w.name.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return Buffer.concat([h, w.name, extra]);
}

function source(entry: ZipEntrySource): Iterable<Uint8Array> | AsyncIterable<Uint8Array> | undefined {
  if (entry.symlinkTarget !== undefined) return [Buffer.from(entry.symlinkTarget)];
  if (entry.data !== undefined) return [typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data];
  if (entry.file !== undefined) return createReadStream(entry.file);
  return entry.stream;
}

/** The entry's (compressed) bytes; fills in crc and sizes on `w` as it goes. */
async function* entryData(entry: ZipEntrySource, w: Written, level: number): AsyncGenerator<Buffer> {
  const input = source(entry);
  if (!input) return;
  if (w.method === Z.METHOD_STORE) {
    if (Array.isArray(input)) {
      for (const chunk of input as Uint8Array[]) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        w.crc = crc32(b, w.crc);
        w.usize += b.length;
        w.csize += b.length;
        if (b.length > 0) yield b;
      }
      return;
    }
    for await (const chunk of input) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      w.crc = crc32(b, w.crc);
      w.usize += b.length;
      w.csize += b.length;
      yield b;
    }
    return;
  }
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      w.crc = crc32(chunk, w.crc);
      w.usize += chunk.length;
      done(null, chunk);
    },
  });
  const deflated = pipelineCb(Readable.from(input), counter, createDeflateRaw({ level }), () => {
    // errors surface through the iteration below
  });
  for await (const chunk of deflated) {
    const b = chunk as Buffer;
    w.csize += b.length;
    yield b;
  }
}

function descriptor(w: Written): Buffer {
  const wide = w.zip64;
  const d = Buffer.alloc(wide ? 24 : 16);
  d.writeUInt32LE(Z.SIG_DESCRIPTOR, 0);
  d.writeUInt32LE(w.crc >>> 0, 4);
  if (wide) {
    Z.writeU64(d, w.csize, 8);
    Z.writeU64(d, w.usize, 16);
  } else {
    d.writeUInt32LE(w.csize, 8);
    d.writeUInt32LE(w.usize, 12);
  }
  return d;
}

function centralHeader(w: Written): Buffer {
  const big = [w.usize >= Z.MAX_UINT32, w.csize >= Z.MAX_UINT32, w.offset >= Z.MAX_UINT32];
  const zip64Fields = [w.usize, w.csize, w.offset].filter((_, i) => big[i]);
  const extras: Buffer[] = [];
  if (zip64Fields.length > 0) {
    const z = Buffer.alloc(4 + 8 * zip64Fields.length);
    z.writeUInt16LE(Z.EXTRA_ZIP64, 0);
    z.writeUInt16LE(8 * zip64Fields.length, 2);
    zip64Fields.forEach((v, i) => Z.writeU64(z, v, 4 + 8 * i));
    extras.push(z);
  }
  extras.push(timestampExtra(w.mtime));
  const extra = Buffer.concat(extras);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(Z.SIG_CENTRAL, 0);
  h.writeUInt16LE(Z.MADE_BY_UNIX, 4);
  h.writeUInt16LE(zip64Fields.length > 0 || w.zip64 ? Z.VERSION_ZIP64 : Z.VERSION_DEFAULT, 6);
  h.writeUInt16LE(w.flags, 8);
  h.writeUInt16LE(w.method, 10);
  h.writeUInt16LE(w.time, 12);
  h.writeUInt16LE(w.date, 14);
  h.writeUInt32LE(w.crc >>> 0, 16);
  h.writeUInt32LE(big[1] ? Z.MAX_UINT32 : w.csize, 20);
  h.writeUInt32LE(big[0] ? Z.MAX_UINT32 : w.usize, 24);
  h.writeUInt16LE(w.name.length, 28);
  h.writeUInt16LE(extra.length, 30);
  h.writeUInt16LE(0, 32); // comment length
  h.writeUInt16LE(0, 34); // disk number start
  h.writeUInt16LE(0, 36); // internal attributes
  const dosDir = (w.mode & Z.S_IFMT) === Z.S_IFDIR ? 0x10 : 0;
  h.writeUInt32LE((((w.mode & 0xffff) << 16) | dosDir) >>> 0, 38);
  h.writeUInt32LE(big[2] ? Z.MAX_UINT32 : w.offset, 42);
  return Buffer.concat([h, w.name, extra]);
}

function* centralDirectory(written: Written[], start: number): Generator<Buffer> {
  let size = 0;
  for (const w of written) {
    const h = centralHeader(w);
    size += h.length;
    yield h;
  }
  const count = written.length;
  const needs64 = count >= Z.MAX_UINT16 || size >= Z.MAX_UINT32 || start >= Z.MAX_UINT32;
  if (needs64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(Z.SIG_EOCD64, 0);
    Z.writeU64(rec, 44, 4);
    rec.writeUInt16LE(Z.MADE_BY_UNIX, 12);
    rec.writeUInt16LE(Z.VERSION_ZIP64, 14);
    rec.writeUInt32LE(0, 16);
    rec.writeUInt32LE(0, 20);
    Z.writeU64(rec, count, 24);
    Z.writeU64(rec, count, 32);
    Z.writeU64(rec, size, 40);
    Z.writeU64(rec, start, 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(Z.SIG_EOCD64_LOCATOR, 0);
    loc.writeUInt32LE(0, 4);
    Z.writeU64(loc, start + size, 8);
    loc.writeUInt32LE(1, 16);
    yield rec;
    yield loc;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(Z.SIG_EOCD, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(needs64 ? Z.MAX_UINT16 : count, 8);
  end.writeUInt16LE(needs64 ? Z.MAX_UINT16 : count, 10);
  end.writeUInt32LE(needs64 ? Z.MAX_UINT32 : size, 12);
  end.writeUInt32LE(needs64 ? Z.MAX_UINT32 : start, 16);
  end.writeUInt16LE(0, 20);
  yield end;
}
