import { close, createWriteStream, fstat, open, read } from 'node:fs';
import { lstat, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import * as yauzl from 'yauzl';
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

/** An open archive: its members, and a stream of each. {@link ZipArchive.close} when done. */
export interface ZipArchive {
  readonly entries: readonly ZipEntryInfo[];
  /** A stream of the member's uncompressed bytes; fails (naming the member) on a CRC or size mismatch. */
  openEntry(entry: ZipEntryInfo): Promise<Readable>;
  close(): void;
}

function bad(message: string, cause?: unknown): RunnerError {
  return new RunnerError('invalid_argument', `reading zip: ${message}`, cause === undefined ? undefined : { cause });
}

/** yauzl's error as ours: `reading zip: [member: ]problem`, in the words the project's diagnostics use. */
function fromYauzl(err: Error, member?: string): RunnerError {
  if (err instanceof RunnerError) return err;
  let problem = err.message;
  if (/end of central directory record signature not found/i.test(problem)) problem = 'no end of central directory record (not a zip file?)';
  else if (/^unexpected EOF$/.test(problem)) problem = 'unexpected end of file';
  return bad(member === undefined ? problem : `${member}: ${problem}`, err);
}

function infoOf(e: yauzl.Entry): ZipEntryInfo {
  // Names as stored (UTF-8 when flagged, else CP437), backslashes kept: safeEntryName judges them, not yauzl.
  const name = yauzl.getFileNameLowLevel(e.generalPurposeBitFlag, e.fileNameRaw, e.extraFields, true);
  const mode = e.versionMadeBy >> 8 === Z.MADE_BY_UNIX ? e.externalFileAttributes >>> 16 : 0;
  const type = mode & Z.S_IFMT;
  return {
    name,
    method: e.compressionMethod,
    crc32: e.crc32,
    compressedSize: e.compressedSize,
    size: e.uncompressedSize,
    mode,
    isDirectory: name.endsWith('/') || type === Z.S_IFDIR || (e.externalFileAttributes & 0x10) !== 0,
    isSymlink: type === Z.S_IFLNK,
    mtime: e.getLastModDate({ timezone: 'UTC' }),
    localHeaderOffset: e.relativeOffsetOfLocalHeader,
  };
}

/** Small reads (the central directory, local headers) come from one cached block of this size. */
const READ_BLOCK = 256 * 1024;

/**
 * The archive file for yauzl, through one file descriptor. yauzl reads the central directory two small reads per
 * member; served from a cached block, listing 70 000 members takes a few dozen reads instead of 140 000.
 */
class BlockReader extends yauzl.RandomAccessReader {
  private block = { start: 0, data: Buffer.alloc(0) };

  constructor(private readonly fd: number) {
    super();
  }

  /** Positional reads on the shared descriptor (an fs.ReadStream would close it when destroyed). */
  override _readStreamForRange(start: number, end: number): Readable {
    const fd = this.fd;
    let at = start;
    return new Readable({
      highWaterMark: 64 * 1024,
      read(size) {
        const n = Math.min(size, end - at);
        if (n <= 0) return void this.push(null);
        const buf = Buffer.allocUnsafe(n);
        read(fd, buf, 0, n, at, (err, got) => {
          if (err) return void this.destroy(err);
          if (got === 0) return void this.destroy(bad('unexpected end of file'));
          at += got;
          this.push(buf.subarray(0, got));
        });
      },
    });
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    const b = this.block;
    if (position >= b.start && position + length <= b.start + b.data.length) {
      b.data.copy(buffer, offset, position - b.start, position - b.start + length);
      process.nextTick(callback, null, length);
      return;
    }
    const data = Buffer.allocUnsafe(Math.max(length, READ_BLOCK));
    read(this.fd, data, 0, data.length, position, (err, n) => {
      if (err) return callback(err);
      this.block = { start: position, data: data.subarray(0, n) };
      const got = Math.min(n, length);
      data.copy(buffer, offset, 0, got);
      callback(null, got);
    });
  }

  override close(callback: (err: Error | null) => void): void {
    close(this.fd, callback);
  }
}

async function openYauzl(file: string): Promise<yauzl.ZipFile> {
  const fd = await new Promise<number>((resolve, reject) => open(file, 'r', (err, d) => (err ? reject(err) : resolve(d))));
  try {
    const size = await new Promise<number>((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))));
    return await new Promise<yauzl.ZipFile>((resolve, reject) => {
      const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false, strictFileNames: true };
      yauzl.fromRandomAccessReader(new BlockReader(fd), size, options, (err, z) => (err ? reject(fromYauzl(err)) : resolve(z)));
    });
  } catch (err) {
    close(fd, () => undefined);
    throw err;
  }
}

/**
 * Opens the ZIP archive at `file` (yauzl: end records, ZIP64, central directory) and lists its members. Names are
 * not judged here (see {@link safeEntryName}); sizes are checked as members are read.
 */
export async function openZip(file: string): Promise<ZipArchive> {
  const zip = await openYauzl(file);
  const raw = new Map<ZipEntryInfo, yauzl.Entry>();
  try {
    for await (const e of zip.eachEntry()) {
      const info = infoOf(e);
      if (e.isEncrypted()) throw bad(`${info.name}: encrypted members are not supported`);
      raw.set(info, e);
    }
  } catch (err) {
    zip.close();
    throw fromYauzl(err as Error);
  }
  return {
    entries: [...raw.keys()],
    openEntry: async (entry) => {
      const e = raw.get(entry);
      if (!e) throw new RangeError(`zip: ${entry.name} is not a member of ${file}`);
      if (entry.method !== Z.METHOD_STORE && entry.method !== Z.METHOD_DEFLATE) throw bad(`${entry.name}: unsupported compression method ${entry.method}`);
      const stored = await new Promise<Readable>((resolve, reject) => {
        zip.openReadStream(e, { decodeFileData: false }, (err, s) => (err ? reject(fromYauzl(err, entry.name)) : resolve(s)));
      });
      return checked(entry, stored);
    },
    close: () => zip.close(),
  };
}

/** Lists the members of the ZIP archive at `file`. */
export async function listZip(file: string): Promise<ZipEntryInfo[]> {
  const archive = await openZip(file);
  archive.close();
  return [...archive.entries];
}

/** The member's bytes from its stored (maybe deflated) data, with the size checked as they come and the CRC-32 at the end. */
function checked(entry: ZipEntryInfo, stored: Readable): Readable {
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
  if (entry.method === Z.METHOD_STORE) pipelineCb(stored, check, fail);
  else pipelineCb(stored, createInflateRaw(), check, fail);
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

/** The target of symlink member `entry`, read into memory (at most {@link MAX_LINK_TARGET_BYTES}). */
export async function readLinkTarget(archive: ZipArchive, entry: ZipEntryInfo): Promise<string> {
  if (entry.size > MAX_LINK_TARGET_BYTES) throw bad(`symlink ${JSON.stringify(entry.name)} has a target of ${entry.size} bytes`);
  const chunks: Buffer[] = [];
  for await (const c of await archive.openEntry(entry)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Refuses an archive whose members declare more than `limit` bytes in all, before anything is read. */
export function checkDeclaredSize(archive: ZipArchive, fileName: string, limit = DEFAULT_MAX_EXTRACTED_BYTES): void {
  const declared = archive.entries.reduce((n, e) => n + e.size, 0);
  if (declared > limit) throw tooLarge(`reading zip: ${fileName}`, declared, limit);
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
  const archive = await openZip(file);
  try {
    return await extractEntries(archive, basename(file), root, options);
  } finally {
    archive.close();
  }
}

async function extractEntries(archive: ZipArchive, fileName: string, root: string, options: { signal?: AbortSignal; maxBytes?: number }): Promise<ExtractResult> {
  const entries = archive.entries;
  checkDeclaredSize(archive, fileName, options.maxBytes);
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
    await pipeline(await archive.openEntry(entry), createWriteStream(dest, { mode: perm, flags: 'wx' }), ...(options.signal ? [{ signal: options.signal }] : []));
    await utimes(dest, entry.mtime, entry.mtime).catch(() => undefined);
    result.files++;
    result.bytes += entry.size;
  }
  for (const { dest, entry } of links) {
    const target = await readLinkTarget(archive, entry);
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
