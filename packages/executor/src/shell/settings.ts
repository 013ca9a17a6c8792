import type { JobVariable } from './types.js';
import { variableValue } from './expand.js';
import { parseGoBool } from '@fleetrunner/common';

/** GIT_STRATEGY values. */
export type GitStrategy = 'clone' | 'fetch' | 'none' | 'empty';
/** GIT_SUBMODULE_STRATEGY values. */
export type SubmoduleStrategy = 'none' | 'normal' | 'recursive';

/** The job knobs the runner reads from variables (upstream common/build_settings.go). */
export interface JobSettings {
  /** Default `fetch` when the payload allows git fetch, else `clone`. */
  readonly gitStrategy: GitStrategy;
  /** GIT_CHECKOUT, default true; always false for `none`/`empty`. */
  readonly gitCheckout: boolean;
  /** GIT_CLEAN_FLAGS split on whitespace; default `-ffdx`; `none` → no `git clean`. */
  readonly gitCleanFlags: readonly string[];
  /** GIT_FETCH_EXTRA_FLAGS; default `--prune --quiet`; `none` → nothing. */
  readonly gitFetchExtraFlags: readonly string[];
  /** GIT_CLONE_EXTRA_FLAGS (native clone only); default none. */
  readonly gitCloneExtraFlags: readonly string[];
  /** GIT_SUBMODULE_STRATEGY, default `none`; always `none` for `none`/`empty`. */
  readonly gitSubmoduleStrategy: SubmoduleStrategy;
  /** GIT_SUBMODULE_PATHS pathspecs (whitespace separated). */
  readonly gitSubmodulePaths: readonly string[];
  /** GIT_SUBMODULE_DEPTH, default the git depth. */
  readonly gitSubmoduleDepth: number;
  /** GIT_SUBMODULE_UPDATE_FLAGS. */
  readonly gitSubmoduleUpdateFlags: readonly string[];
  /** GIT_LFS_SKIP_SMUDGE set by the user. */
  readonly gitLfsSkipSmudge: boolean;
  /** GIT_CLONE_PATH ("" when unset). */
  readonly gitClonePath: string;
  /** GET_SOURCES_ATTEMPTS, ARTIFACT_DOWNLOAD_ATTEMPTS, RESTORE_CACHE_ATTEMPTS, EXECUTOR_JOB_SECTION_ATTEMPTS: 1–10, default 1. */
  readonly getSourcesAttempts: number;
  readonly artifactDownloadAttempts: number;
  readonly restoreCacheAttempts: number;
  readonly executorJobSectionAttempts: number;
  /** AFTER_SCRIPT_IGNORE_ERRORS, default true. */
  readonly afterScriptIgnoreErrors: boolean;
}

/** Options that come from the payload rather than from variables. */
export interface JobSettingsOptions {
  /** Payload `allow_git_fetch`: makes `fetch` the default strategy. */
  readonly allowGitFetch?: boolean;
  /** `git_info.depth`: the default of GIT_SUBMODULE_DEPTH. */
  readonly gitDepth?: number;
}

/**
 * Reads the job settings from (already expanded) variables with upstream's defaults and validation. Invalid
 * values keep the default and add an error line (the job log shows them as warnings); values are not quoted
 * back in the errors.
 */
export function resolveJobSettings(
  variables: readonly JobVariable[],
  options: JobSettingsOptions = {},
): { settings: JobSettings; errors: string[] } {
  const errors: string[] = [];
  const raw = (key: string): string => variableValue(variables, key);

  const defaultStrategy: GitStrategy = options.allowGitFetch ? 'fetch' : 'clone';
  let gitStrategy: GitStrategy = defaultStrategy;
  const rs = raw('GIT_STRATEGY');
  if (rs === 'clone' || rs === 'fetch' || rs === 'none' || rs === 'empty') gitStrategy = rs;
  else if (rs !== '') errors.push(`GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty', using default value '${defaultStrategy}'`);

  let submodules: SubmoduleStrategy = 'none';
  const rsub = raw('GIT_SUBMODULE_STRATEGY');
  if (rsub === 'normal' || rsub === 'recursive' || rsub === 'none') submodules = rsub;
  else if (rsub !== '') errors.push(`GIT_SUBMODULE_STRATEGY: expected either 'normal', 'recursive' or 'none'`);

  const bool = (key: string, def: boolean): boolean => {
    const v = raw(key);
    if (v === '') return def;
    const parsed = parseGoBool(v);
    if (parsed === undefined) errors.push(`${key}: expected bool, using default value: ${def}`);
    return parsed ?? def;
  };
  const int = (key: string, def: number): number => {
    const v = raw(key);
    if (v === '') return def;
    if (!/^[+-]?\d+$/.test(v)) {
      errors.push(`${key}: expected int, using default value: ${def}`);
      return def;
    }
    return Number.parseInt(v, 10);
  };
  const flags = (key: string, def: readonly string[]): readonly string[] => {
    const v = raw(key);
    if (v === '') return def;
    if (v === 'none') return [];
    return fields(v);
  };
  const attempts = (key: string): number => {
    const n = int(key, 1);
    if (n < 1 || n > 10) errors.push(`${key}: number of attempts out of the range [1, 10], using the nearest bound`);
    return Math.min(10, Math.max(1, n));
  };

  const strategyHasCheckout = gitStrategy === 'clone' || gitStrategy === 'fetch';
  const submodulePaths = fields(raw('GIT_SUBMODULE_PATHS'));
  if (submodulePaths.includes(':(exclude)')) errors.push('GIT_SUBMODULE_PATHS: invalid submodule pathspec');

  const settings: JobSettings = {
    gitStrategy,
    gitCheckout: strategyHasCheckout && bool('GIT_CHECKOUT', true),
    gitCleanFlags: flags('GIT_CLEAN_FLAGS', ['-ffdx']),
    gitFetchExtraFlags: flags('GIT_FETCH_EXTRA_FLAGS', ['--prune', '--quiet']),
    gitCloneExtraFlags: flags('GIT_CLONE_EXTRA_FLAGS', []),
    gitSubmoduleStrategy: strategyHasCheckout ? submodules : 'none',
    gitSubmodulePaths: submodulePaths.includes(':(exclude)') ? [] : submodulePaths,
    gitSubmoduleDepth: int('GIT_SUBMODULE_DEPTH', options.gitDepth ?? 0),
    gitSubmoduleUpdateFlags: fields(raw('GIT_SUBMODULE_UPDATE_FLAGS')),
    gitLfsSkipSmudge: bool('GIT_LFS_SKIP_SMUDGE', false),
    gitClonePath: raw('GIT_CLONE_PATH'),
    getSourcesAttempts: attempts('GET_SOURCES_ATTEMPTS'),
    artifactDownloadAttempts: attempts('ARTIFACT_DOWNLOAD_ATTEMPTS'),
    restoreCacheAttempts: attempts('RESTORE_CACHE_ATTEMPTS'),
    executorJobSectionAttempts: attempts('EXECUTOR_JOB_SECTION_ATTEMPTS'),
    afterScriptIgnoreErrors: bool('AFTER_SCRIPT_IGNORE_ERRORS', true),
  };
  return { settings, errors };
}

function fields(s: string): string[] {
  return s.split(/\s+/).filter((f) => f !== '');
}
