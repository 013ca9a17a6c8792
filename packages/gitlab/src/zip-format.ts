// ZIP record layouts (PKWARE APPNOTE 6.3) shared by the writer and the reader.

export const SIG_LOCAL = 0x04034b50;
export const SIG_DESCRIPTOR = 0x08074b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_EOCD64_LOCATOR = 0x07064b50;

export const METHOD_STORE = 0;
export const METHOD_DEFLATE = 8;

/** General purpose flags: sizes follow in a data descriptor; names are UTF-8. */
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_UTF8 = 0x0800;

/** Extra field ids: ZIP64 sizes/offset; extended timestamp (Unix mtime). */
export const EXTRA_ZIP64 = 0x0001;
export const EXTRA_TIMESTAMP = 0x5455;

/** Fields at or above these values live in the ZIP64 extra / records. */
export const MAX_UINT32 = 0xffffffff;
export const MAX_UINT16 = 0xffff;

/** "Version made by": Unix (3) in the high byte, spec 4.5 in the low byte. */
export const MADE_BY_UNIX = (3 << 8) | 45;
export const VERSION_DEFAULT = 20;
export const VERSION_ZIP64 = 45;

/** Unix file type bits. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** MS-DOS time and date of `d` (UTC; clamped to the format's 1980–2107 range). */
export function dosDateTime(d: Date): { time: number; date: number } {
  let year = d.getUTCFullYear();
  if (year < 1980) return { time: 0, date: (0 << 9) | (1 << 5) | 1 };
  if (year > 2107) year = 2107;
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** The Date of an MS-DOS time and date (read as UTC). */
export function fromDosDateTime(time: number, date: number): Date {
  const year = ((date >> 9) & 0x7f) + 1980;
  const month = Math.max(1, (date >> 5) & 0x0f) - 1;
  const day = Math.max(1, date & 0x1f);
  return new Date(Date.UTC(year, month, day, (time >> 11) & 0x1f, (time >> 5) & 0x3f, (time & 0x1f) * 2));
}

/** Writes `v` (≤ 2⁵³) as a little-endian 64-bit integer. */
export function writeU64(buf: Buffer, v: number, offset: number): void {
  buf.writeBigUInt64LE(BigInt(v), offset);
}

/** Reads a little-endian 64-bit integer that must fit a JS number. */
export function readU64(buf: Buffer, offset: number): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip: 64-bit field too large');
  return Number(v);
}
