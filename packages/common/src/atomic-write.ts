import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';

/** Options of {@link writeFileAtomic} and {@link openAtomicWrite}. */
export interface AtomicWriteOptions {
  /** File mode, applied regardless of the umask. Default 0o600. */
  mode?: number;
}

/** A file being written beside its final name; nothing is visible under that name until `commit()`. */
export interface AtomicWrite {
  /** Where the content goes. Not ended by the caller necessarily: `commit()` ends it. */
  readonly stream: Writable;
  /** Ends the stream, fsyncs the file, renames it over the final name and fsyncs the directory. */
  commit(): Promise<void>;
  /** Drops the temporary file. Safe after a failed commit. */
  abort(): Promise<void>;
}

function tempName(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

// The rename is durable only once the directory entry is on disk; some filesystems refuse fsync on a directory.
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Replaces `path` atomically: writes a temporary file beside it (exclusive create, `mode`), fsyncs it, renames it
 * over `path` and fsyncs the directory, so a crash leaves either the old content or the new, never a torn file.
 * The temporary file is removed on failure. The project's one temp-file-and-rename.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const tmp = tempName(path);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/** {@link writeFileAtomic} for content that arrives as a stream (archives, caches, bundles). */
export async function openAtomicWrite(path: string, options: AtomicWriteOptions = {}): Promise<AtomicWrite> {
  const mode = options.mode ?? 0o600;
  const tmp = tempName(path);
  const fh = await open(tmp, 'wx', mode);
  // A Writable over the handle itself: fs streams keep a FileHandle busy until they close it, which would leave
  // no chance to fsync first on Node 20.
  let position = 0;
  const writeAll = async (chunk: Buffer): Promise<void> => {
    for (let off = 0; off < chunk.length; ) {
      const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, position);
      off += bytesWritten;
      position += bytesWritten;
    }
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeAll(chunk).then(() => callback(), callback);
    },
    final(callback) {
      fh.chmod(mode)
        .then(() => fh.sync())
        .then(() => callback(), callback);
    },
  });
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    // Destroyed without an error (and so without 'finish'): the content is incomplete.
    stream.once('close', () => reject(new Error(`writing ${path}: the stream was closed before it finished`)));
  });
  // Always handled: a failed write is reported by commit(), never as an unhandled rejection.
  finished.catch(() => undefined);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    stream,
    async commit() {
      try {
        if (!stream.writableEnded) stream.end();
        await finished;
        await close();
        await rename(tmp, path);
      } catch (err) {
        await close().catch(() => undefined);
        await rm(tmp, { force: true });
        throw err;
      }
      await syncDir(dirname(path));
    },
    async abort() {
      stream.destroy();
      // FileHandle.close waits for the stream's pending writes.
      await close().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}
