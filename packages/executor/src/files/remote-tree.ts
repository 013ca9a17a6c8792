import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RunnerError } from '@fleetrunner/common';
import type { Connection } from '@fleetrunner/connector';
import { selectPaths } from './glob.js';

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
 * Streams a tar of `entries` (relative to `dir`) from the instance into `dest`. Uses the instance's own `tar`, so
 * no runner binary is needed there. Resolves with the number of bytes received.
 */
export async function archiveRemote(conn: Connection, dir: string, entries: readonly string[], dest: Writable, options: { signal?: AbortSignal } = {}): Promise<number> {
  const pass = new PassThrough();
  let bytes = 0;
  const errs: Buffer[] = [];
  const piping = pipeline(pass, dest);
  const list = entries.map((e) => e + '\0').join('');
  const res = await conn
    .exec(`cd ${shq(dir)} && tar -cf - --no-recursion --null -T -`, {
      stdin: list,
      onStdout: (c) => {
        bytes += c.length;
        pass.write(c);
      },
      onStderr: (c) => errs.push(c),
      ...(options.signal ? { signal: options.signal } : {}),
    })
    .finally(() => pass.end());
  await piping;
  if (res.exitCode !== 0) {
    throw new RunnerError('internal', `archiving ${entries.length} path(s) in ${dir}: tar exited ${res.exitCode ?? res.signal}: ${Buffer.concat(errs).toString().trim().slice(0, 500)}`);
  }
  return bytes;
}

/** Streams a tar archive from `source` into `tar -x` in `dir` on the instance (created if missing). */
export async function extractRemote(conn: Connection, dir: string, source: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
  const errs: Buffer[] = [];
  const res = await conn.exec(`mkdir -p ${shq(dir)} && cd ${shq(dir)} && tar -xf -`, {
    stdin: source,
    onStderr: (c) => errs.push(c),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (res.exitCode !== 0) {
    throw new RunnerError('internal', `extracting into ${dir}: tar exited ${res.exitCode ?? res.signal}: ${Buffer.concat(errs).toString().trim().slice(0, 500)}`);
  }
}
