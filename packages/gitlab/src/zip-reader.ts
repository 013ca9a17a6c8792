import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { RunnerError, throwIfAborted } from '@fleetrunner/common';
import * as Z from './zip-format.js';
import { DEFAULT_MAX_EXTRACTED_BYTES, MAX_LINK_TARGET_BYTES, checkLinkTarget, safeEntryName, tooLarge } from './zip-safety.js';

/** One member as listed in the central directory. */
export interface ZipEntryInfo {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Unix mode with type bits (0 when the archive was not made on Unix). */
  mode: number;
  isDirectory: boolean;
  isSymlink: boolean;
  mtime: Date;
  localHeaderOffset: number;
}

/** What {@link extractZip} created. */
export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

function bad(message: string): RunnerError {
  return new RunnerError('invalid_argument', `reading zip: ${message}`);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  if (bytesRead !== length) throw bad('unexpected end of file');
  return buf;
}

/** Finds the central directory (via the end record, ZIP64 aware): `{ offset, size, count }`. */
async function locateCentralDirectory(fh: FileHandle, fileSize: number): Promise<{ offset: number; size: number; count: number }> {
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(fh, fileSize - tailLen, tailLen);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === Z.SIG_EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw bad('no end of central directory record (not a zip file?)');
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  const eocdPos = fileSize - tailLen + at;
  if (count === Z.MAX_UINT16 || size === Z.MAX_UINT32 || offset === Z.MAX_UINT32) {
    if (eocdPos < 20) throw bad('ZIP64 locator missing');
    const loc = await readAt(fh, eocdPos - 20, 20);
    if (loc.readUInt32LE(0) !== Z.SIG_EOCD64_LOCATOR) throw bad('ZIP64 locator missing');
    const rec = await readAt(fh, Z.readU64(loc, 8), 56);
    if (rec.readUInt32LE(0) !== Z.SIG_EOCD64) throw bad('ZIP64 end record missing');
    count = Z.readU64(rec, 32);
    size = Z.readU64(rec, 40);
    offset = Z.readU64(rec, 48);
  }
  if (offset + size > fileSize) throw bad('central directory lies beyond the end of the file');
  return { offset, size, count };
}

function parseZip64Extra(extra: Buffer, wanted: { usize: boolean; csize: boolean; offset: boolean }): { usize?: number; csize?: number; offset?: number } {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === Z.EXTRA_ZIP64) {
      const out: { usize?: number; csize?: number; offset?: number } = {};
      let q = p + 4;
      for (const k of ['usize', 'csize', 'offset'] as const) {
        if (!wanted[k]) continue;
        if (q + 8 > p + 4 + len) throw bad('truncated ZIP64 extra field');
        out[k] = Z.readU64(extra, q);
        q += 8;
      }
      return out;
    }
    p += 4 + len;
  }
  return {};
}

/** Lists the members of the ZIP archive at `file`. */
export async function listZip(file: string): Promise<ZipEntryInfo[]> {
  const fh = await open(file, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const cd = await locateCentralDirectory(fh, fileSize);
    const buf = await readAt(fh, cd.offset, cd.size);
    const entries: ZipEntryInfo[] = [];
    let p = 0;
    for (let i = 0; i < cd.count; i++) {
      if (p + 46 > buf.length || buf.readUInt32LE(p) !== Z.SIG_CENTRAL) throw bad(`central directory entry ${i} is corrupt`);
      const madeBy = buf.readUInt16LE(p + 4) >> 8;
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
      const extra = buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
      let csize = buf.readUInt32LE(p + 20);
      let usize = buf.readUInt32LE(p + 24);
      let offset = buf.readUInt32LE(p + 42);
      const z = parseZip64Extra(extra, { usize: usize === Z.MAX_UINT32, csize: csize === Z.MAX_UINT32, offset: offset === Z.MAX_UINT32 });
      usize = z.usize ?? usize;
      csize = z.csize ?? csize;
      offset = z.offset ?? offset;
      const external = buf.readUInt32LE(p + 38);
      const mode = madeBy === 3 ? external >>> 16 : 0;
      const type = mode & Z.S_IFMT;
      entries.push({
        name,
        method: buf.readUInt16LE(p + 10),
        crc32: buf.readUInt32LE(p + 16),
        compressedSize: csize,
        size: usize,
        mode,
        isDirectory: name.endsWith('/') || type === Z.S_IFDIR || (external & 0x10) !== 0,
        isSymlink: type === Z.S_IFLNK,
        mtime: Z.fromDosDateTime(buf.readUInt16LE(p + 12), buf.readUInt16LE(p + 14)),
        localHeaderOffset: offset,
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** A stream of the entry's uncompressed bytes; fails on a CRC or size mismatch. */
export async function openZipEntry(file: string, entry: ZipEntryInfo): Promise<Readable> {
  const fh = await open(file, 'r');
  let start: number;
  try {
    const h = await readAt(fh, entry.localHeaderOffset, 30);
    if (h.readUInt32LE(0) !== Z.SIG_LOCAL) throw bad(`local header of ${entry.name} is corrupt`);
    start = entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  } finally {
    await fh.close();
  }
  if (entry.method !== Z.METHOD_STORE && entry.method !== Z.METHOD_DEFLATE) throw bad(`${entry.name}: unsupported compression method ${entry.method}`);
  const raw = entry.compressedSize === 0 ? Readable.from([]) : createReadStream(file, { start, end: start + entry.compressedSize - 1 });
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      // At once, not at the end: a member that inflates past its recorded size is a bomb or a lie.
      if (size > entry.size) done(bad(`${entry.name}: more data than its recorded size of ${entry.size} bytes`));
      else done(null, chunk);
    },
    flush(done) {
      if (size !== entry.size) done(bad(`${entry.name}: size ${size}, expected ${entry.size}`));
      else if (crc >>> 0 !== entry.crc32) done(bad(`${entry.name}: CRC-32 mismatch`));
      else done();
    },
  });
  // One pipeline: an error anywhere (file, inflate, check) or a reader that stops early destroys every stage, so no
  // file descriptor or inflater is left behind and the error surfaces on the stream handed out.
  const fail = (err: Error | null): void => {
    if (err && !check.destroyed) check.destroy(err);
  };
  if (entry.method === Z.METHOD_STORE) pipelineCb(raw, check, fail);
  else pipelineCb(raw, createInflateRaw(), check, fail);
  return check.on('error', (err: Error & { code?: string }) => {
    // zlib's own messages ("invalid code lengths set") say nothing of the archive: name the member.
    if (err.code?.startsWith('Z_') && !err.message.startsWith('reading zip')) err.message = `reading zip: ${entry.name}: ${err.message}`;
  });
}

/** The absolute destination of `name` under `root`, or an error for names that escape it. */
function destination(root: string, name: string): string {
  let clean: string;
  try {
    clean = safeEntryName(name);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (clean === '') throw bad(`unsafe entry name ${JSON.stringify(name)}`);
  const dest = resolve(root, clean);
  if (dest !== root && !dest.startsWith(root + sep)) throw bad(`entry ${JSON.stringify(name)} escapes the destination`);
  return dest;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Extracts the archive at `file` into `destDir` (created if missing): directories, regular files with their
 * Unix permission bits and mtimes, and symlinks. Names that are absolute or contain `..` are refused, and so are
 * symlinks pointing outside `destDir`. Symlinks are created last, so no member can be written through a link the
 * archive itself planted, and nothing is written through a symlinked directory already there. An archive whose
 * members declare more than `maxBytes` (default {@link DEFAULT_MAX_EXTRACTED_BYTES}) is refused before anything
 * is written.
 */
export async function extractZip(file: string, destDir: string, options: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<ExtractResult> {
  const root = resolve(destDir);
  const entries = await listZip(file);
  const declared = entries.reduce((n, e) => n + e.size, 0);
  const limit = options.maxBytes ?? DEFAULT_MAX_EXTRACTED_BYTES;
  if (declared > limit) throw tooLarge(`reading zip: ${basename(file)}`, declared, limit);
  await mkdir(root, { recursive: true });
  const result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  const links: { dest: string; entry: ZipEntryInfo }[] = [];
  for (const entry of entries) {
    throwIfAborted(options.signal);
    const dest = destination(root, entry.name);
    if (entry.isDirectory) {
      await ensureDir(root, dest);
      result.directories++;
      continue;
    }
    if (entry.isSymlink) {
      links.push({ dest, entry });
      continue;
    }
    await ensureDir(root, dirname(dest));
    await rm(dest, { force: true });
    const perm = entry.mode & 0o777 || 0o644;
    await pipeline(await openZipEntry(file, entry), createWriteStream(dest, { mode: perm, flags: 'wx' }), ...(options.signal ? [{ signal: options.signal }] : []));
    await utimes(dest, entry.mtime, entry.mtime).catch(() => undefined);
    result.files++;
    result.bytes += entry.size;
  }
  for (const { dest, entry } of links) {
    if (entry.size > MAX_LINK_TARGET_BYTES) throw bad(`symlink ${JSON.stringify(entry.name)} has an invalid target`);
    const target = (await readAll(await openZipEntry(file, entry))).toString('utf8');
    try {
      checkLinkTarget(safeEntryName(entry.name), target);
    } catch (err) {
      throw bad((err as Error).message);
    }
    await ensureDir(root, dirname(dest));
    await rm(dest, { force: true, recursive: false }).catch(() => undefined);
    await symlink(target, dest);
    result.symlinks++;
  }
  return result;
}

/**
 * Creates `dir` (inside `root`) one component at a time, refusing to go through a symlink (left over from an earlier
 * extraction into `root`): `mkdir -p` would follow it and create directories wherever it points.
 */
async function ensureDir(root: string, dir: string): Promise<void> {
  const rel = relative(root, dir);
  if (rel === '') return;
  let d = root;
  for (const part of rel.split(sep)) {
    d = join(d, part);
    let st;
    try {
      st = await lstat(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      continue;
    }
    if (st.isSymbolicLink()) throw bad(`refusing to write through symlink ${d}`);
    if (!st.isDirectory()) throw bad(`${d} is in the way of a directory of the archive`);
  }
}
