// The project's one tar implementation: thin wrappers over `tar-stream` that give a pull-style reader (bodies read
// on demand, unread bodies skipped) and a writer with reproducible headers. The callers keep their own rules on
// top (which members are allowed, where links may point); what this module enforces is the format's: exact sizes,
// a clear error for truncated or foreign input, names that cannot escape (`safeTarPath`).
import { extract, pack, type Header, type Pack } from 'tar-stream';
import { RunnerError } from './errors.js';

/** The kind of a tar member; anything that is not a file, directory or link is `other` (devices, FIFOs, …). */
export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** One member's header, after pax and GNU long-name records were applied. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Body length in bytes. */
  size: number;
  /** Permission bits. */
  mode: number;
  mtime: Date;
  /** Symlink target, or the member a hard link links to; '' otherwise. */
  linkname: string;
}

/** A member as {@link readTar} yields it: read `body` to its end, or leave it and the reader skips it. */
export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** Why a tar stream was refused, in `RunnerError.details.tar`. */
export type TarErrorKind = 'truncated' | 'not_tar' | 'malformed' | 'too_large' | 'size_mismatch' | 'unsafe_name';

function tarError(kind: TarErrorKind, message: string, cause?: unknown): RunnerError {
  return new RunnerError('invalid_argument', message, { cause, details: { tar: kind } });
}

/** The {@link TarErrorKind} of an error thrown here (survives `RunnerError.wrap`), if any. */
export function tarErrorKind(err: unknown): TarErrorKind | undefined {
  if (!(err instanceof RunnerError)) return undefined;
  const k = err.details['tar'];
  return typeof k === 'string' ? (k as TarErrorKind) : undefined;
}

/** tar-stream's errors carry no codes; these are its messages in the pinned version (each has a test). */
function translate(err: unknown, where: string): unknown {
  if (!(err instanceof Error) || err instanceof RunnerError) return err;
  if (err.message === 'Unexpected end of data') return tarError('truncated', `${where}: the archive is truncated (unexpected end of data)`, err);
  if (err.message.startsWith('Invalid tar header. Maybe')) return tarError('not_tar', `${where}: not a tar archive, or corrupted (header checksum mismatch)`, err);
  if (err.message.startsWith('Invalid tar header: unknown format')) return tarError('not_tar', `${where}: not a tar archive (unknown header format)`, err);
  if (err.message === 'Header exceeds max size') return tarError('too_large', `${where}: a pax or GNU long-name record is over 4 MiB`, err);
  if (err.message === 'Invalid header') return tarError('malformed', `${where}: a header has an invalid size`, err);
  return err;
}

function entryType(t: Header['type'] | null): TarEntryType {
  if (t === 'file' || t === 'contiguous-file') return 'file';
  if (t === 'directory' || t === 'symlink') return t;
  if (t === 'link') return 'hardlink';
  return 'other';
}

/** Resolves on `drain`; rejects when the stream closes first (destroyed), so no waiter hangs. */
function drained(stream: { once(ev: string, fn: (...a: unknown[]) => void): unknown; off(ev: string, fn: (...a: unknown[]) => void): unknown }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      stream.off('drain', onDrain);
      reject(new RunnerError('aborted', `${what}: the tar stream was closed`));
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

/** Options of {@link readTar}. */
export interface ReadTarOptions {
  /**
   * When the reader is stopped before the end (break, return, an error), also end the source: `return()` on its
   * iterator, which destroys a stream. Default false: the caller (a stream pipeline) owns the source.
   */
  closeSource?: boolean;
}

/**
 * Parses a tar stream (ustar, pax, GNU long names, v7) member by member without buffering bodies; backpressure
 * reaches the source. The source is read to its end (so a hash over it sees every byte; after the end-of-archive
 * marker only zero blocks may follow); an archive that ends inside a header or body throws `truncated`, a block that
 * is not a header `not_tar`.
 */
export async function* readTar(source: AsyncIterable<Uint8Array | string>, options: ReadTarOptions = {}): AsyncGenerator<TarEntry, void, undefined> {
  // `allowUnknownFormat` (v7 headers, without the ustar magic) is an option of the pinned version its types omit.
  const ex = extract({ allowUnknownFormat: true } as Parameters<typeof extract>[0]);
  const src = source[Symbol.asyncIterator]();
  let stopped = false;
  let ended = false;
  void (async (): Promise<void> => {
    try {
      for (;;) {
        const r = await src.next();
        if (stopped) return;
        if (r.done) break;
        const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
        if (!ex.write(chunk)) await drained(ex, 'reading tar archive');
      }
      ended = true;
      ex.end(undefined);
    } catch (err) {
      ex.destroy(err as Error);
    }
  })();
  const entries = ex[Symbol.asyncIterator]();
  let where = 'reading tar archive';
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof entries.next>>;
      try {
        r = await entries.next();
      } catch (err) {
        throw translate(err, where);
      }
      if (r.done) break;
      const stream = r.value;
      const h = stream.header;
      const header: TarHeader = {
        name: h.name,
        type: entryType(h.type),
        size: h.size,
        mode: h.mode,
        mtime: h.mtime,
        linkname: h.linkname ?? '',
      };
      // Pulled by hand, never through `for await`: returning from that would destroy the entry stream, and with it
      // the whole extraction.
      const it = stream[Symbol.asyncIterator]();
      let done = false;
      const pull = async (): Promise<Buffer | undefined> => {
        if (done) return undefined;
        try {
          const c = await it.next();
          if (c.done) {
            done = true;
            return undefined;
          }
          return c.value as Buffer;
        } catch (err) {
          done = true;
          throw translate(err, `reading tar entry ${JSON.stringify(header.name)}`);
        }
      };
      const body = (async function* (): AsyncGenerator<Buffer> {
        for (let c = await pull(); c !== undefined; c = await pull()) yield c;
      })();
      yield { header, body };
      while ((await pull()) !== undefined);
      where = `reading tar archive after entry ${JSON.stringify(header.name)}`;
    }
  } finally {
    stopped = true;
    if (!ex.destroyed) ex.destroy();
    if (!ended && options.closeSource) await src.return?.();
  }
}

/**
 * The entry name as a normalized relative POSIX path (`./a//b` → `a/b`, `./` → ''); throws `unsafe_name` for
 * absolute paths, drive letters, backslashes, NUL and `..` components, which could write outside the target.
 */
export function safeTarPath(name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.includes('\0')) {
    throw tarError('unsafe_name', `tar entry ${JSON.stringify(name)} has an absolute path`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw tarError('unsafe_name', `tar entry ${JSON.stringify(name)} escapes the target directory ("..")`);
  return parts.join('/');
}

/** One member for {@link writeTar}. */
export interface TarMember {
  /** Path with `/` separators (a directory's gets its trailing `/`); long and non-ASCII names get a pax record. */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  /** Permission bits (type bits are ignored); default 0o755 for directories, 0o644 for files, 0o777 for links. */
  mode?: number;
  /** Body length in bytes: exactly what `body` holds (0 and no body for the other types). */
  size?: number;
  /** Default the epoch, so archives are reproducible; seconds, clamped to 0 … 2^31-1. */
  mtime?: Date;
  /** Symlink target; for a hard link, the member it links to. */
  linkname?: string;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
}

// tar-stream replaces a mode of 0 by its default; with the type bits set the header still holds `mode & 0o7777`.
const TYPE_BITS = { file: 0o100000, directory: 0o040000, symlink: 0o120000, hardlink: 0o100000 } as const;
const DEFAULT_MODE = { file: 0o644, directory: 0o755, symlink: 0o777, hardlink: 0o777 } as const;

function headerOf(m: TarMember): Header {
  const name = m.type === 'directory' && !m.name.endsWith('/') ? `${m.name}/` : m.name;
  const size = m.type === 'file' ? (m.size ?? 0) : 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`tar member ${JSON.stringify(m.name)}: size ${size} is not a byte count`);
  if ((m.type === 'symlink' || m.type === 'hardlink') && !m.linkname) throw new RangeError(`tar member ${JSON.stringify(m.name)}: a ${m.type} needs a target`);
  const seconds = Math.min(2 ** 31 - 1, Math.max(0, Math.floor((m.mtime?.getTime() ?? 0) / 1000)));
  return {
    name,
    type: m.type === 'hardlink' ? 'link' : m.type,
    mode: TYPE_BITS[m.type] | ((m.mode ?? DEFAULT_MODE[m.type]) & 0o7777),
    size,
    mtime: new Date(seconds * 1000),
    linkname: m.linkname ?? '',
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  };
}

async function addMember(p: Pack, m: TarMember): Promise<void> {
  const header = headerOf(m);
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const added = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Handled at once: the pack may fail this entry (a consumer that stopped) while its body is still being read; the
  // error then reaches the caller through the body loop or the `await added` below, never as an unhandled rejection.
  added.catch(() => undefined);
  const sink = p.entry(header, (err) => (err ? settle.reject(err) : settle.resolve()));
  sink.on('error', () => undefined);
  if (header.type === 'file') {
    let n = 0;
    const mismatch = (): Error => tarError('size_mismatch', `tar member ${JSON.stringify(m.name)}: ${n} bytes for a declared size of ${header.size}`);
    const chunks = m.body === undefined ? [] : m.body instanceof Uint8Array ? [m.body] : m.body;
    try {
      for await (const c of chunks) {
        n += c.length;
        if (n > header.size) throw mismatch();
        if (c.length > 0 && !sink.write(c)) await drained(sink, `writing tar member ${JSON.stringify(m.name)}`);
      }
      if (n !== header.size) throw mismatch();
    } catch (err) {
      sink.destroy(err as Error);
      throw err;
    }
    sink.end(undefined);
  }
  await added;
}

/**
 * Writes `members` as a tar stream (ustar headers; pax records for long or non-ASCII names and link targets): uid
 * and gid 0, no owner names, mtime as given (default the epoch), so the same members always give the same bytes.
 * Each file's body is read as the output is consumed (backpressure); a body that holds more or fewer bytes than its
 * `size` throws `size_mismatch`. An error from `members` ends the output with that error.
 */
export async function* writeTar(members: Iterable<TarMember> | AsyncIterable<TarMember>): AsyncGenerator<Buffer, void, undefined> {
  const p = pack();
  p.on('error', () => undefined); // reported through `failure`
  let failure: unknown;
  const feeding = (async (): Promise<void> => {
    try {
      for await (const m of members) {
        if (p.destroyed) return;
        await addMember(p, m);
      }
      p.finalize();
    } catch (err) {
      failure ??= err;
      p.destroy(err as Error);
    }
  })();
  try {
    for await (const first of p as AsyncIterable<Buffer>) {
      // tar-stream pushes each header, body chunk and padding on its own; what is already queued goes out as one
      // chunk (up to 64 KiB), which spares the consumer a round trip per 512-byte header.
      let n = first.length;
      const parts = [first];
      for (let c: Buffer | null; n < 64 << 10 && (c = p.read() as Buffer | null) !== null; n += c.length) parts.push(c);
      yield parts.length === 1 ? first : Buffer.concat(parts, n);
    }
  } catch (err) {
    throw failure ?? err;
  } finally {
    // Not awaited: when the consumer stops early, `members` may be waiting on its own source; it is returned as
    // soon as that resolves (the destroyed pack refuses further members).
    if (!p.destroyed) p.destroy();
    void feeding;
  }
  if (failure !== undefined) throw failure;
}
