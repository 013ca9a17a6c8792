import { Writable } from 'node:stream';

/** One member of a tar archive. */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  size: number;
  mtime: Date;
  linkname: string;
}

/** Receives entries; `onData` gets the file content in order (only for files). */
export interface TarHandlers {
  onEntry(entry: TarEntry): void;
  onData?(entry: TarEntry, chunk: Buffer): void;
  onEnd?(entry: TarEntry): void;
}

/** Largest pax or GNU long-name record accepted, bytes: such records are buffered. */
const MAX_META_BYTES = 1 << 20;

const TYPES: Record<string, TarEntry['type']> = { '0': 'file', '\0': 'file', '7': 'file', '5': 'directory', '2': 'symlink', '1': 'hardlink' };

function cstr(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end >= 0 && end < off + len ? end : off + len);
}

function octal(buf: Buffer, off: number, len: number): number {
  if (buf[off]! & 0x80) {
    // GNU base-256 for large values.
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = cstr(buf, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePax(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(body.slice(i, sp));
    if (!(len > 0)) break;
    const rec = body.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * A streaming tar (ustar, GNU long names, pax path/linkpath/size) reader: write the archive into it; entries and
 * their content come out through the handlers. Never buffers more than one header block plus a pax/longname body.
 */
export class TarReader extends Writable {
  private buf: Buffer = Buffer.alloc(0);
  private entry: TarEntry | undefined;
  private remaining = 0;
  private padding = 0;
  private meta: 'pax' | 'longname' | 'longlink' | undefined;
  private metaBody: Buffer[] = [];
  private pending: { path?: string; linkpath?: string; size?: number } = {};
  private ended = false;

  constructor(private readonly handlers: TarHandlers) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.drain();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Cut inside a member's body, or inside a header block.
    if (this.remaining > 0 || (!this.ended && this.buf.length > 0)) cb(new Error('tar archive is truncated'));
    else cb();
  }

  private drain(): void {
    for (;;) {
      if (this.remaining > 0) {
        if (this.buf.length === 0) return;
        const n = Math.min(this.remaining, this.buf.length);
        const part = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.meta) this.metaBody.push(Buffer.from(part));
        else if (this.entry) this.handlers.onData?.(this.entry, part);
        if (this.remaining === 0) this.finishBody();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.padding -= n;
        if (this.padding > 0) return;
        continue;
      }
      if (this.ended || this.buf.length < 512) return;
      const header = this.buf.subarray(0, 512);
      this.buf = this.buf.subarray(512);
      if (header.every((b) => b === 0)) {
        this.ended = true;
        return;
      }
      this.header(header);
    }
  }

  private header(h: Buffer): void {
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== octal(h, 148, 8)) throw new Error('tar header checksum mismatch (not a tar archive, or corrupted)');
    const flag = String.fromCharCode(h[156]!);
    const size = this.pending.size ?? octal(h, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('tar header has an invalid size');
    this.padding = (512 - (size % 512)) % 512;
    this.remaining = size;
    if ((flag === 'x' || flag === 'L' || flag === 'K' || flag === 'g') && size > MAX_META_BYTES) throw new Error(`tar ${flag} header of ${size} bytes is too large`);
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      this.meta = flag === 'x' ? 'pax' : flag === 'L' ? 'longname' : 'longlink';
      this.metaBody = [];
      if (size === 0) this.finishBody();
      return;
    }
    if (flag === 'g') {
      this.meta = 'pax';
      this.metaBody = [];
      this.pending = {};
      if (size === 0) this.finishBody();
      return;
    }
    const prefix = cstr(h, 345, 155);
    const name = cstr(h, 0, 100);
    const entry: TarEntry = {
      path: this.pending.path ?? (prefix ? `${prefix}/${name}` : name),
      type: TYPES[flag] ?? 'other',
      mode: octal(h, 100, 8),
      size,
      mtime: new Date(octal(h, 136, 12) * 1000),
      linkname: this.pending.linkpath ?? cstr(h, 157, 100),
    };
    this.pending = {};
    this.entry = entry;
    this.handlers.onEntry(entry);
    if (size === 0) this.finishBody();
  }

  private finishBody(): void {
    if (this.meta) {
      const body = Buffer.concat(this.metaBody);
      if (this.meta === 'pax') {
        const rec = parsePax(body.toString('utf8'));
        if (rec.path !== undefined) this.pending.path = rec.path;
        if (rec.linkpath !== undefined) this.pending.linkpath = rec.linkpath;
        if (rec.size !== undefined) this.pending.size = Number(rec.size);
      } else if (this.meta === 'longname') this.pending.path = body.toString('utf8').replace(/\0.*$/s, '');
      else this.pending.linkpath = body.toString('utf8').replace(/\0.*$/s, '');
      this.meta = undefined;
      this.metaBody = [];
      return;
    }
    if (this.entry) this.handlers.onEnd?.(this.entry);
    this.entry = undefined;
  }
}
