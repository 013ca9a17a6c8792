import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** A write that lands atomically: nothing is visible under the key until `commit()`. */
export interface PendingWrite {
  stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Tar archives kept by key on the manager (caches between jobs, artifacts between pipeline jobs). Writes go to a
 * temporary file renamed into place, so a crash never leaves a half-written archive under a key.
 */
export interface ArchiveStore {
  /** The archive under `key`, or undefined. */
  open(key: string): Promise<Readable | undefined>;
  /** Size in bytes of the archive under `key`, or undefined. */
  size(key: string): Promise<number | undefined>;
  create(key: string): Promise<PendingWrite>;
}

/** File name for a key: readable prefix + hash, so any key (slashes, unicode) is safe and distinct. */
export function keyFileName(key: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `${safe}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.tar`;
}

/** An ArchiveStore in a local directory. */
export class LocalArchiveStore implements ArchiveStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    return join(this.root, keyFileName(key));
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch {
      return undefined;
    }
  }

  async open(key: string): Promise<Readable | undefined> {
    if ((await this.size(key)) === undefined) return undefined;
    return createReadStream(this.path(key));
  }

  async create(key: string): Promise<PendingWrite> {
    await mkdir(this.root, { recursive: true });
    const final = this.path(key);
    const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
    const stream = createWriteStream(tmp);
    const closed = new Promise<void>((resolve, reject) => {
      stream.once('close', () => resolve());
      stream.once('error', reject);
    });
    return {
      stream,
      commit: async () => {
        if (!stream.writableEnded) stream.end();
        await closed;
        await rename(tmp, final);
      },
      abort: async () => {
        stream.destroy();
        await closed.catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }
}
