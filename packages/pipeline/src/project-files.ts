// The project's files, for `rules: exists` and `cache: key: files`. In a git checkout: tracked files plus
// untracked ones that are not ignored (`git ls-files`); elsewhere a walk of the directory without `.git`.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheKeyRaw } from './artifacts-cache.js';
import { fnmatchRegExp as globToRegExp, isGlob } from '@fleetrunner/executor';

/** Upper bound of files listed by the directory walk (GitLab also caps `exists` checks at 10,000 patterns). */
const MAX_WALK = 100_000;

function gitOut(dir: string, args: string[], signal: AbortSignal | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd: dir, signal, maxBuffer: 64 << 20, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }, (err, out) =>
      resolve(err === null ? out : undefined),
    );
  });
}

async function walk(root: string, signal: AbortSignal | undefined): Promise<string[]> {
  const out: string[] = [];
  const queue = [''];
  while (queue.length > 0 && out.length < MAX_WALK) {
    signal?.throwIfAborted();
    const rel = queue.shift()!;
    const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== '.git') queue.push(p);
      } else out.push(p);
    }
  }
  return out;
}

/** Lists the project's files relative to `dir`, `/`-separated. */
export async function listProjectFiles(dir: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const listed = await gitOut(dir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], options.signal);
  if (listed !== undefined) return [...new Set(listed.split('\0').filter((f) => f !== ''))];
  return walk(dir, options.signal);
}

/** The git blob id of some content (what `git hash-object` prints), so keys match GitLab's for committed files. */
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function digest(ids: Array<string | undefined>): string | undefined {
  const list = [...new Set(ids.filter((x): x is string => x !== undefined && x !== ''))].sort();
  return list.length === 0 ? undefined : createHash('sha1').update(list.join('-')).digest('hex');
}

async function contentId(dir: string, rel: string): Promise<string | undefined> {
  const p = join(dir, rel);
  const s = await stat(p).catch(() => undefined);
  if (s === undefined || !s.isFile()) return undefined;
  return blobId(await readFile(p));
}

/**
 * Resolves a cache key. `files`: SHA-1 over the sorted blob ids of the files' contents (GitLab's `cache:key:
 * files`; the working tree's content, so local edits change the key), `files_commits`: over the ids of the
 * last commits that changed them. No file found → `default`. A prefix is joined with `-`.
 */
export async function resolveCacheKey(
  key: CacheKeyRaw,
  dir: string,
  files: () => Promise<readonly string[]>,
  signal?: AbortSignal,
): Promise<string> {
  if (key.kind === 'string') return key.value;
  const wanted = [...new Set(key.files.filter((f) => f !== ''))];
  let paths: string[] = [];
  for (const f of wanted) {
    const clean = f.replace(/^\.?\/+/, '');
    if (!isGlob(clean)) paths.push(clean);
    else {
      const re = globToRegExp(clean);
      paths.push(...(await files()).filter((x) => re.test(x)));
    }
  }
  paths = [...new Set(paths)];
  const ids: Array<string | undefined> = [];
  for (const p of paths) {
    ids.push(key.commits ? (await gitOut(dir, ['log', '-1', '--format=%H', '--', p], signal))?.trim() : await contentId(dir, p));
  }
  return [key.prefix, digest(ids) ?? 'default'].filter((s) => s !== '').join('-');
}
