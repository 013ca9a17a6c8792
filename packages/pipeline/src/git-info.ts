// Facts about the project's checkout for the predefined CI_COMMIT_* / CI_PROJECT_* variables, read by running
// `git`. Outside a repository (or without git) every fact falls back to a documented value.
import { execFile } from 'node:child_process';
import type { GitInfo } from './types.js';

/** Values used when there is no repository: a branch pipeline on `main` at the all-zero commit. */
export const GIT_FALLBACK: GitInfo = {
  sha: '0000000000000000000000000000000000000000',
  branch: 'main',
  defaultBranch: 'main',
  message: '',
  author: '',
  timestamp: '1970-01-01T00:00:00Z',
};

function git(dir: string, args: string[], signal: AbortSignal | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      { cwd: dir, signal, maxBuffer: 4 << 20, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } },
      (err, stdout) => resolve(err === null ? stdout : undefined),
    );
  });
}

/** `group/sub/project` from a remote URL (`git@host:g/p.git`, `https://host/g/p.git`, `ssh://…`). */
export function projectPathFromRemote(url: string): string | undefined {
  const u = url.trim();
  const scp = /^[\w.-]+@[\w.-]+:(?!\/)(.+)$/.exec(u);
  let path: string | undefined;
  if (scp !== null) path = scp[1];
  else {
    try {
      const parsed = new URL(u);
      if (parsed.protocol === 'file:') return undefined;
      path = decodeURIComponent(parsed.pathname);
    } catch {
      return undefined;
    }
  }
  const clean = path?.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  return clean === undefined || clean === '' || !clean.includes('/') ? undefined : clean;
}

async function defaultBranch(dir: string, current: string | undefined, signal: AbortSignal | undefined): Promise<string> {
  const remoteHead = (await git(dir, ['symbolic-ref', '--short', '-q', 'refs/remotes/origin/HEAD'], signal))?.trim();
  if (remoteHead !== undefined && remoteHead !== '') return remoteHead.replace(/^origin\//, '');
  for (const name of ['main', 'master']) {
    if ((await git(dir, ['rev-parse', '--verify', '-q', `refs/heads/${name}`], signal)) !== undefined) return name;
  }
  const configured = (await git(dir, ['config', '--get', 'init.defaultBranch'], signal))?.trim();
  return configured !== undefined && configured !== '' ? configured : (current ?? GIT_FALLBACK.defaultBranch);
}

async function tagAtHead(dir: string, signal: AbortSignal | undefined): Promise<{ tag?: string; tagMessage?: string }> {
  const tag = (await git(dir, ['describe', '--tags', '--exact-match', 'HEAD'], signal))?.trim();
  if (tag === undefined || tag === '') return {};
  const info = await git(dir, ['for-each-ref', '--format=%(objecttype)%00%(contents)', `refs/tags/${tag}`], signal);
  const [type, contents] = (info ?? '').split('\0');
  return type === 'tag' ? { tag, tagMessage: (contents ?? '').trim() } : { tag };
}

/** GitLab gives CI_COMMIT_TIMESTAMP in UTC: `2022-01-31T16:47:55Z`. */
function utcIso(s: string | undefined): string | undefined {
  const ms = s === undefined || s === '' ? NaN : Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** On a detached HEAD that is not a tag: the first local branch pointing at HEAD, if any. */
async function branchAtHead(dir: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  const out = await git(dir, ['branch', '--points-at', 'HEAD', '--format=%(refname:short)'], signal);
  return out?.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('('));
}

/**
 * Reads git facts of `dir`. A branch checkout gives a branch pipeline; a detached HEAD at a tag gives a tag
 * pipeline; a detached HEAD elsewhere takes a branch that points at it, else has neither branch nor tag (the
 * ref name is then the commit SHA). Returns the fallback outside a repository.
 */
export async function readGitInfo(dir: string, options: { signal?: AbortSignal } = {}): Promise<GitInfo> {
  const { signal } = options;
  const inside = (await git(dir, ['rev-parse', '--is-inside-work-tree'], signal))?.trim();
  if (inside !== 'true') return { ...GIT_FALLBACK };
  const branchOut = (await git(dir, ['symbolic-ref', '--short', '-q', 'HEAD'], signal))?.trim();
  let branch = branchOut === undefined || branchOut === '' ? undefined : branchOut;
  const log = await git(dir, ['log', '-1', '--format=%H%x00%an <%ae>%x00%cI%x00%B'], signal);
  const [sha, author, timestamp, message] = log === undefined ? [] : log.split('\0');
  const tag = branch === undefined ? await tagAtHead(dir, signal) : {};
  if (branch === undefined && tag.tag === undefined) branch = await branchAtHead(dir, signal);
  const remote = await git(dir, ['remote', 'get-url', 'origin'], signal);
  const info: GitInfo = {
    sha: sha?.trim() || GIT_FALLBACK.sha,
    defaultBranch: await defaultBranch(dir, branch, signal),
    message: (message ?? '').replace(/\n+$/, ''),
    author: author ?? '',
    timestamp: utcIso(timestamp?.trim()) ?? GIT_FALLBACK.timestamp,
    ...tag,
  };
  if (branch !== undefined) info.branch = branch;
  const projectPath = remote === undefined ? undefined : projectPathFromRemote(remote);
  if (projectPath !== undefined) info.projectPath = projectPath;
  return info;
}
