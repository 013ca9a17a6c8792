// Block-level tar helpers kept only for `packages/manager/src/artifact-archives.ts`, until that file moves to
// `packages/gitlab` on `@fleetrunner/common/tar` (the one tar reader and writer); nothing in the executor uses them.
// Delete this file then.
const BLOCK = 512;

/** One member for {@link tarHeaders}. */
export interface TarMember {
  /** Path with `/` separators; a directory's may end with `/`. */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  /** Permission bits (type bits are ignored). */
  mode: number;
  /** Body length in bytes; 0 for directories and symlinks. */
  size: number;
  mtime: Date;
  /** Symlink target; for a hard link, the member it links to. */
  linkname?: string;
}

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(Math.max(0, Math.floor(value)).toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function block(name: string, typeflag: string, mode: number, size: number, mtimeS: number, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode & 0o7777);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeS);
  h.fill(0x20, 148, 156);
  h.write(typeflag, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 8, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** A pax record `"<len> key=value\n"` whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let len = n + String(n).length;
  if (String(len).length !== String(n).length) len = n + String(len).length;
  return `${len}${body}`;
}

/**
 * The header block(s) of one tar member: a ustar header, preceded by a pax extended header when the name or link
 * target does not fit the 100-byte fields or the size the 11 octal digits. Bodies and padding are the caller's.
 */
export function tarHeaders(m: TarMember): Buffer {
  let name = m.name.replace(/^\.\//, '');
  if (m.type === 'directory' && !name.endsWith('/')) name += '/';
  const linkname = m.linkname ?? '';
  const size = m.type === 'file' ? m.size : 0;
  const records: string[] = [];
  if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name));
  if (Buffer.byteLength(linkname) > 100) records.push(paxRecord('linkpath', linkname));
  if (size > 0o77777777777) records.push(paxRecord('size', String(size)));
  const mtimeS = Math.floor(m.mtime.getTime() / 1000);
  const typeflag = m.type === 'directory' ? '5' : m.type === 'symlink' ? '2' : m.type === 'hardlink' ? '1' : '0';
  const main = block(name.slice(0, 100), typeflag, m.mode, Math.min(size, 0o77777777777), mtimeS, linkname.slice(0, 100));
  if (records.length === 0) return main;
  const body = Buffer.from(records.join(''));
  const pax = block(`PaxHeaders/${name.split('/').filter(Boolean).pop() ?? 'entry'}`.slice(0, 100), 'x', 0o644, body.length, mtimeS, '');
  return Buffer.concat([pax, body, tarPadding(body.length), main]);
}

/** Zero bytes that pad a body of `size` bytes to the block size. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
