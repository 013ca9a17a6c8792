import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RunnerError } from '@fleetrunner/common';
import type { Connection } from '@fleetrunner/connector';
import { selectPaths } from './glob.js';
import { safeTar, type SafeTarOptions } from './safe-tar.js';

/** Single-quotes `s` for POSIX shells. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Paths under a remote directory, relative, `/`-separated, without `./`. */
export interface RemoteTree {
  files: string[];
  dirs: string[];
}

async function capture(conn: Connection, command: string, signal: AbortSignal | undefined, what: string): Promise<Buffer> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const res = await conn.exec(command, { onStdout: (c) => out.push(c), onStderr: (c) => err.push(c), ...(signal ? { signal } : {}) });
  if (res.exitCode !== 0) {
    throw new RunnerError('internal', `${what}: exit ${res.exitCode ?? res.signal}: ${Buffer.concat(err).toString().trim().slice(0, 500)}`);
  }
  return Buffer.concat(out);
}

const SPLIT = '\0--fleetrunner-dirs--\0';

/** Lists files (anything not a directory) and directories below `dir` with one remote command. */
export async function listRemoteTree(conn: Connection, dir: string, options: { signal?: AbortSignal } = {}): Promise<RemoteTree> {
  const d = shq(dir);
  const cmd = `cd ${d} 2>/dev/null || exit 0; find . -mindepth 1 ! -type d -print0; printf '${SPLIT.replace(/\0/g, '\\0')}'; find . -mindepth 1 -type d -print0`;
  const raw = (await capture(conn, cmd, options.signal, `listing ${dir}`)).toString('utf8');
  const [filesPart = '', dirsPart = ''] = raw.split(SPLIT);
  const clean = (s: string): string[] => s.split('\0').filter(Boolean).map((p) => p.replace(/^\.\//, ''));
  return { files: clean(filesPart), dirs: clean(dirsPart) };
}

/** Files git does not track in the work tree at `dir` (`untracked: true`), ignored files included as upstream does. */
export async function listUntracked(conn: Connection, dir: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const raw = await capture(conn, `cd ${shq(dir)} && git ls-files -o -z`, options.signal, `listing untracked files in ${dir}`);
  return raw.toString('utf8').split('\0').filter(Boolean);
}

/** Selection of paths for an artifact or cache entry, resolved against the remote tree. */
export interface PathSelection {
  paths: readonly string[];
  exclude?: readonly string[];
  untracked?: boolean;
}

/** Resolves a selection into the concrete list of entries to archive (files, plus matched empty directories). */
export async function resolveSelection(conn: Connection, dir: string, sel: PathSelection, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const tree = await listRemoteTree(conn, dir, options);
  const picked = new Set(selectPaths(tree.files, sel.paths, sel.exclude ?? []));
  if (sel.untracked) {
    const untracked = await listUntracked(conn, dir, options);
    for (const p of selectPaths(untracked, ['**'], sel.exclude ?? [])) picked.add(p);
  }
  const withFiles = new Set<string>();
  for (const f of picked) {
    for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) withFiles.add(f.slice(0, i));
  }
  for (const d of selectPaths(tree.dirs, sel.paths, sel.exclude ?? [])) if (!withFiles.has(d)) picked.add(d);
  return [...picked].sort();
}

/**
 * Streams a tar of `entries` (relative to `dir`) from the instance into `dest`, with backpressure (the SSH channel
 * pauses while `dest` is full, so the instance's `tar` waits). Uses the instance's own `tar`, so no runner binary is
 * needed there. `dest` is ended when the archive is complete. A failure of `dest` (a writer that gave up, a full
 * disk) stops the remote `tar` at once and is what this rejects with. Resolves with the number of bytes received.
 */
export async function archiveRemote(conn: Connection, dir: string, entries: readonly string[], dest: Writable, options: { signal?: AbortSignal } = {}): Promise<number> {
  const pass = new PassThrough();
  let bytes = 0;
  const errs: Buffer[] = [];
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let destFailure: { err: unknown } | undefined;
  // Handled from the start: the writer may fail while the remote tar is still running.
  const piping = pipeline(pass, dest).catch((err: unknown) => {
    destFailure = { err };
    stop.abort(err);
  });
  const list = entries.map((e) => e + '\0').join('');
  let res;
  try {
    // --hard-dereference: a file with several names is stored whole under each (a zip has no hard links, and an
    // archive of copies extracts anywhere), as upstream's archiver stores it.
    res = await conn.exec(`cd ${shq(dir)} && tar -cf - --hard-dereference --no-recursion --null -T -`, {
      stdin: list,
      stdout: pass,
      onStdout: (c) => (bytes += c.length),
      onStderr: (c) => errs.push(c),
      signal: stop.signal,
    });
  } catch (err) {
    pass.destroy();
    await piping;
    if (destFailure && !options.signal?.aborted) throw destFailure.err;
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (res.exitCode !== 0) {
    pass.destroy();
    await piping;
    throw new RunnerError('internal', `archiving ${entries.length} path(s) in ${dir}: tar exited ${res.exitCode ?? res.signal}: ${Buffer.concat(errs).toString().trim().slice(0, 500)}`);
  }
  pass.end();
  await piping;
  if (destFailure) throw destFailure.err;
  return bytes;
}

/** Options of {@link extractRemote}. */
export interface ExtractRemoteOptions extends SafeTarOptions {
  signal?: AbortSignal;
  /** What is extracted, for messages (`artifacts of build (1001)`). Default `archive`. */
  what?: string;
}

/**
 * Streams a tar archive from `source` into `tar -x` in `dir` on the instance (created if missing), through
 * {@link safeTar}: unsafe names and links are refused, nothing is written through a symlink already in `dir`, links
 * come last. A failure of `source` or of those checks stops the remote `tar` and rejects, naming `what`; `source`
 * is destroyed when this settles.
 */
export async function extractRemote(conn: Connection, dir: string, source: Readable, options: ExtractRemoteOptions = {}): Promise<void> {
  const errs: Buffer[] = [];
  const what = options.what ?? 'archive';
  const safe = safeTar(source, options.confineLinks === undefined ? {} : { confineLinks: options.confineLinks });
  let res;
  try {
    res = await conn.exec(`mkdir -p ${shq(dir)} && cd ${shq(dir)} && tar -xf - --no-same-owner`, {
      stdin: safe,
      onStderr: (c) => errs.push(c),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw RunnerError.wrap(`extracting ${what} into ${dir}`, err);
  } finally {
    if (!source.destroyed) source.destroy();
  }
  if (res.exitCode !== 0) {
    throw new RunnerError('internal', `extracting ${what} into ${dir}: tar exited ${res.exitCode ?? res.signal}: ${Buffer.concat(errs).toString().trim().slice(0, 500)}`);
  }
}
