const BLOCK = 512;

/** One header for `tarHeader`. Times are fixed at 0 and owners at root so that layers are reproducible. */
export interface TarHeaderSpec {
  name: string;
  type: 'file' | 'directory';
  /** Body length in bytes (0 for directories). */
  size: number;
  /** Permission bits; default 0o755 for directories and 0o644 for files. */
  mode?: number;
}

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

/** A ustar header block (names over 100 bytes use the ustar prefix field; longer ones are refused). */
export function tarHeader(spec: TarHeaderSpec): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = spec.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 1);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new RangeError(`tar name too long: ${spec.name}`);
  }
  if (spec.size > 0o77777777777) throw new RangeError(`tar entry too large: ${spec.size} bytes`);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, spec.mode ?? (spec.type === 'directory' ? 0o755 : 0o644));
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, spec.size);
  octal(h, 136, 12, 0);
  h.fill(0x20, 148, 156);
  h.write(spec.type === 'directory' ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0' + '00', 257, 8, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** Zero bytes that pad a body of `size` bytes to the block size. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
