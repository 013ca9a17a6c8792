import { ByteSource } from './byte-source.js';
import { installerError } from './errors.js';

const BLOCK = 512;

/** The kind of a tar entry; anything not a file, directory or link is `other` (devices, fifos…). */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** One entry's header, after pax and GNU long-name records were applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Body length in bytes. */
  size: number;
  mode: number;
  linkname: string;
}

/** An entry; read `body` to its end or leave it, the reader skips what was not read. */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

function cstring(buf: Buffer, start: number, len: number): string {
  const b = buf.subarray(start, start + len);
  const nul = b.indexOf(0);
  return b.subarray(0, nul === -1 ? b.length : nul).toString('utf8');
}

function numeric(buf: Buffer, start: number, len: number, what: string): number {
  const b = buf.subarray(start, start + len);
  if (((b[0] ?? 0) & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the top bit as marker.
    let v = 0;
    for (let i = 0; i < b.length; i++) v = v * 256 + ((i === 0 ? (b[i] ?? 0) & 0x7f : b[i]) ?? 0);
    if (!Number.isSafeInteger(v)) throw installerError('unsafe_archive', `tar ${what} is too large`);
    return v;
  }
  const s = cstring(b, 0, b.length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw installerError('unsafe_archive', `tar header has a bad ${what} field`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  const s = cstring(h, 148, 8).trim();
  return /^[0-7]+$/.test(s) && parseInt(s, 8) === sum;
}

function entryType(flag: string): TarEntryType {
  if (flag === '0' || flag === '\0' || flag === '' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number(body.subarray(i, sp).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > body.length) throw installerError('unsafe_archive', 'tar pax header is malformed');
    const rec = body.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Largest pax or GNU long-name record accepted, in bytes: such records are buffered. */
const MAX_META = 1 << 20;

/**
 * Parses a tar stream (ustar, pax, GNU long names) entry by entry without buffering bodies. Ends at the
 * end-of-archive marker (the rest of the source is then drained) or at the end of the source on a block boundary;
 * a source that ends inside a header or body throws `truncated`.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const src = new ByteSource(source);
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const h = await src.exact(BLOCK, 'reading tar header');
    if (!h) return;
    if (h.every((b) => b === 0)) {
      await src.drain();
      return;
    }
    if (!checksumOk(h)) throw installerError('unsafe_archive', 'not a tar archive (header checksum mismatch)');
    const flag = String.fromCharCode(h[156] ?? 0);
    let size = numeric(h, 124, 12, 'size');
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw installerError('unsafe_archive', `tar metadata record of ${size} bytes is too large`);
      const body = (await src.exact(padded, 'reading tar metadata')) ?? Buffer.alloc(0);
      if (body.length < padded) throw installerError('truncated', 'reading tar metadata: unexpected end of data');
      const data = body.subarray(0, size);
      if (flag === 'x') pax = parsePax(data);
      else if (flag === 'L') longName = cstring(data, 0, data.length);
      else if (flag === 'K') longLink = cstring(data, 0, data.length);
      continue;
    }
    let name = cstring(h, 0, 100);
    if (h.subarray(257, 262).toString('latin1') === 'ustar') {
      const prefix = cstring(h, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    name = pax.get('path') ?? longName ?? name;
    const linkname = pax.get('linkpath') ?? longLink ?? cstring(h, 157, 100);
    const paxSize = pax.get('size');
    if (paxSize !== undefined) {
      size = Number(paxSize);
      if (!Number.isSafeInteger(size) || size < 0) throw installerError('unsafe_archive', 'tar pax size is malformed');
    }
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    const header: TarHeader = { name, type: entryType(flag), size, mode: numeric(h, 100, 8, 'mode'), linkname };
    let remaining = size;
    const body = (async function* (): AsyncGenerator<Buffer> {
      while (remaining > 0) {
        const c = await src.chunk(remaining);
        if (!c) throw installerError('truncated', `reading tar entry "${name}": unexpected end of data, ${remaining} bytes missing`);
        remaining -= c.length;
        yield c;
      }
    })();
    yield { header, body };
    if (remaining > 0) await src.skip(remaining, `skipping tar entry "${name}"`);
    remaining = 0;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) await src.skip(pad, `reading tar entry "${name}" padding`);
  }
}

/**
 * The entry name as a normalized relative POSIX path (`./a//b` → `a/b`); throws `unsafe_archive` for absolute
 * paths, drive letters, backslashes and `..` components, which could write outside the target directory.
 */
export function safeEntryPath(name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\')) {
    throw installerError('unsafe_archive', `tar entry "${name}" has an absolute path`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw installerError('unsafe_archive', `tar entry "${name}" escapes the target directory ("..")`);
  return parts.join('/');
}
