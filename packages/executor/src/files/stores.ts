import { createHash } from 'node:crypto';
import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { RunnerError, openAtomicWrite } from '@fleetrunner/common';

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

/**
 * The directory of one project's caches under a runner's cache root, as upstream lays out its cache:
 * `<root>/<short token>/project/<project id>`. Each project has its own directory, so no job ever restores another
 * project's cache, whatever the key.
 */
export function projectCacheDir(root: string, shortToken: string, projectId: number): string {
  if (!Number.isSafeInteger(projectId) || projectId <= 0) throw new RunnerError('invalid_argument', `cache: invalid project id ${projectId}`);
  if (shortToken === '' || shortToken === '.' || shortToken === '..' || /[/\\\0]/.test(shortToken)) throw new RunnerError('invalid_argument', 'cache: invalid runner short token');
  return join(root, shortToken, 'project', String(projectId));
}

/**
 * An ArchiveStore in a local directory. Archives hold job output: the directories are made 0700 and the files
 * 0600 (existing directories are tightened), and only regular files are read back.
 */
export class LocalArchiveStore implements ArchiveStore {
  /**
   * @param root the directory of the archives.
   * @param options.privateFrom a parent of `root` (the cache root): every directory from it down to `root` is kept
   * at 0700 too. Default: `root` only.
   */
  constructor(
    readonly root: string,
    private readonly options: { privateFrom?: string } = {},
  ) {}

  private path(key: string): string {
    return join(this.root, keyFileName(key));
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const st = await stat(this.path(key));
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined;
    }
  }

  async open(key: string): Promise<Readable | undefined> {
    const path = this.path(key);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RunnerError('internal', `reading archive ${keyFileName(key)}: ${(err as Error).message}`, { cause: err });
    }
    // Say so now rather than fail inside a stream already piped somewhere.
    if (!st.isFile()) throw new RunnerError('internal', `reading archive ${keyFileName(key)}: ${path} is not a regular file`);
    const fh = await open(path, 'r');
    // Archives written before they were kept private.
    if ((st.mode & 0o077) !== 0) await fh.chmod(0o600).catch(() => undefined);
    return fh.createReadStream();
  }

  async create(key: string): Promise<PendingWrite> {
    await privateDirs(this.root, this.options.privateFrom);
    // Temporary file beside the final name, fsynced before the rename (@fleetrunner/common).
    return openAtomicWrite(this.path(key), { mode: 0o600 });
  }
}

/** Makes `dir` and its missing parents with mode 0700, and tightens `dir` and each directory from `from` down to it. */
async function privateDirs(dir: string, from: string | undefined): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = resolve(dir);
  const base = from === undefined ? target : resolve(from);
  const rel = relative(base, target);
  const below = rel.split(sep).filter(Boolean);
  const chain = rel.startsWith('..') ? [target] : [base, ...below.map((_, i) => join(base, ...below.slice(0, i + 1)))];
  for (const d of chain) await chmod(d, 0o700);
}
