import { posix } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import type { JobPaths } from './types.js';

/** Default `builds_dir` of the instance executor, relative to the SSH user's home. */
export const DEFAULT_BUILDS_DIR = 'builds';
/** Default `cache_dir` of the instance executor, relative to the SSH user's home. */
export const DEFAULT_CACHE_DIR = 'cache';

/** What {@link computeJobPaths} needs. */
export interface JobPathsOptions {
  /** `[[runners]] builds_dir`; default `builds` (relative to the SSH user's home). May be absolute. */
  readonly buildsDir?: string;
  /** `[[runners]] cache_dir`; default `cache`. */
  readonly cacheDir?: string;
  /** The runner's short token (first 9 characters of the token without its prefix). */
  readonly shortToken: string;
  /** `CI_CONCURRENT_PROJECT_ID`: lowest free per-project slot of this runner. */
  readonly concurrentProjectId: number;
  /** `git_info.repo_url`: its path (without `.git`) names the project directory, as upstream does. */
  readonly repoUrl: string;
  /** `job_info.project_id`: the directory is `project-<id>` when neither the URL nor `projectFullPath` names one. */
  readonly projectId: number;
  /**
   * `job_info.project_full_path` (`namespace/project`): used only when the URL has no host (e.g. `file://`);
   * upstream has no such fallback and uses `project-<id>` there.
   */
  readonly projectFullPath?: string;
  /**
   * True when `use_common_build_dir` is honoured (the lead checks upstream's rule: VM isolation or
   * `max_use_count = 1`): `<builds>/<namespace>/<project>` without `<short token>/<concurrent project id>`.
   * Default false.
   */
  readonly useCommonBuildDir?: boolean;
  /** Resolved GIT_STRATEGY; `empty` appends `-empty` to the project directory. */
  readonly gitStrategy?: string;
  /** Resolved GIT_CLONE_PATH (already `$VAR`-expanded); must lie inside the builds dir. */
  readonly gitClonePath?: string;
  /** `[runners.custom_build_dir] enabled`; default false for the instance executor (upstream code). */
  readonly customBuildDirEnabled?: boolean;
  /** The SSH user's home, when known: relative dirs then become absolute. Optional. */
  readonly homeDir?: string;
}

/**
 * The project slug the way upstream derives it (`ProjectSlug`): the repository URL's path without `.git`,
 * or undefined when the URL has no host or a suspicious path.
 */
export function projectSlug(repoUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(repoUrl);
  } catch {
    return undefined;
  }
  if (url.host === '') return undefined;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  if (path.endsWith('.git')) path = path.slice(0, -4);
  path = posix.normalize(path === '' ? '.' : path);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '.' || path === '/' || path.includes('..')) return undefined;
  return path.replace(/^\/+/, '');
}

/**
 * Computes the build, temp and cache directories of a job (upstream `StartBuild` / `ProjectUniqueDir`):
 * `<builds>/<short token>/<concurrent project id>/<namespace>/<project>[-empty]`, or `<builds>/<namespace>/<project>`
 * with a common build dir; temp dir `<project dir>.tmp`; cache `<cache>/<namespace>/<project>[-empty]`.
 * Throws `invalid_argument` (failure reason `runner_configuration_error`) for a disallowed GIT_CLONE_PATH.
 */
export function computeJobPaths(options: JobPathsOptions): JobPaths {
  const rootDir = resolveHome(clean(options.buildsDir || DEFAULT_BUILDS_DIR), options.homeDir);
  const cacheRoot = resolveHome(clean(options.cacheDir || DEFAULT_CACHE_DIR), options.homeDir);
  const suffix = options.gitStrategy === 'empty' ? '-empty' : '';
  const slug = projectSlug(options.repoUrl) ?? fullPathSlug(options.projectFullPath) ?? `project-${options.projectId}`;
  const unique = options.useCommonBuildDir
    ? slug
    : posix.join(options.shortToken, String(options.concurrentProjectId), slug);

  let projectDir = posix.join(rootDir, unique + suffix);
  if (options.gitClonePath) projectDir = customBuildDir(rootDir, options);

  return {
    buildsDir: rootDir,
    projectDir,
    tempDir: `${projectDir}.tmp`,
    cacheDir: posix.join(cacheRoot, slug + suffix),
  };
}

function customBuildDir(rootDir: string, options: JobPathsOptions): string {
  const details = { failureReason: 'runner_configuration_error' };
  if (!options.customBuildDirEnabled) {
    throw new RunnerError('invalid_argument', 'setting GIT_CLONE_PATH is not allowed, enable `custom_build_dir` feature', {
      details,
    });
  }
  const dir = resolveHome(clean(options.gitClonePath ?? ''), options.homeDir);
  const rel = posix.relative(rootDir, dir);
  if (rel.startsWith('..') || posix.isAbsolute(rel)) {
    throw new RunnerError('invalid_argument', `the GIT_CLONE_PATH=${JSON.stringify(dir)} has to be within ${JSON.stringify(rootDir)}`, {
      details,
    });
  }
  return dir;
}

function fullPathSlug(fullPath: string | undefined): string | undefined {
  if (!fullPath) return undefined;
  const n = posix.normalize(fullPath).replace(/^\/+|\/+$/g, '');
  return n === '' || n === '.' || n.split('/').includes('..') ? undefined : n;
}

function clean(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function resolveHome(p: string, homeDir: string | undefined): string {
  if (homeDir === undefined || homeDir === '' || posix.isAbsolute(p)) return p;
  return posix.join(homeDir, p);
}
