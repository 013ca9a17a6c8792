/**
 * Input types of the shell-script generator. Field names mirror the GitLab job payload (`variables`, `git_info`,
 * `steps`, `hooks`) in camelCase; the gitlab package's payload types map onto these one to one.
 */

/** The POSIX shells a stage script can be generated for. `sh` scripts run in dash, busybox sh and bash-as-sh. */
export type ShellName = 'bash' | 'sh';

/** One job variable as the payload gives it (`variables[]`), plus runner-added ones. */
export interface JobVariable {
  readonly key: string;
  readonly value: string;
  /** Visible in the UI; informational here. */
  readonly public: boolean;
  /** File-type variable: the value is written to a file under the temp dir and the variable holds its path. */
  readonly file: boolean;
  /** Masked variable: the generator never prints its value (the trace masker hides it if a command does). */
  readonly masked: boolean;
  /** Raw variable: its value is not `$VAR`-expanded. */
  readonly raw: boolean;
  /** Added by the runner, not by GitLab (upstream `Internal`). Defaults to false. */
  readonly internal?: boolean;
}

/** `git_info` of the payload. */
export interface GitInfo {
  /** Clone URL; for GitLab it carries `gitlab-ci-token:<job token>@`. */
  readonly repoUrl: string;
  /** `sha1` (default) or `sha256`. */
  readonly repoObjectFormat?: string;
  readonly ref: string;
  readonly sha: string;
  readonly beforeSha?: string;
  /** `branch` or `tag`. */
  readonly refType?: string;
  /** Refspecs to fetch, e.g. `+refs/heads/main:refs/remotes/origin/main`. */
  readonly refspecs: readonly string[];
  /** Shallow fetch depth (GIT_DEPTH as GitLab resolved it); 0 = full history. */
  readonly depth: number;
}

/** `hooks[]` of the payload. */
export interface JobHook {
  readonly name: 'pre_get_sources_script' | 'post_get_sources_script' | (string & {});
  readonly script: readonly string[];
}

/** When a step runs, relative to the job outcome so far. */
export type StepWhen = 'on_success' | 'on_failure' | 'always';

/** `steps[]` of the payload: `script` (before_script already merged by GitLab), `after_script`, `release`, … */
export interface JobStep {
  readonly name: string;
  readonly script: readonly string[];
  readonly when: StepWhen;
  /** Seconds; informational for the generator (the lead enforces it). */
  readonly timeout?: number;
  readonly allowFailure?: boolean;
}

/** Value of `CI_JOB_STATUS` from after_script on. */
export type JobStatus = 'running' | 'success' | 'failed' | 'canceled';

/**
 * Where a job lives on the instance. Relative paths are relative to the SSH user's home directory; scripts
 * resolve them against `$HOME` at run time. Computed by {@link computeJobPaths}.
 */
export interface JobPaths {
  /** `CI_BUILDS_DIR`: the builds root (`builds_dir`, default `builds`). */
  readonly buildsDir: string;
  /** `CI_PROJECT_DIR`: the checkout. */
  readonly projectDir: string;
  /** `RUNNER_TEMP_PROJECT_DIR`: `<projectDir>.tmp`, holds file variables, GITLAB_ENV and git config. */
  readonly tempDir: string;
  /** The project's local cache directory: `<cache_dir>/<namespace>/<project>`. */
  readonly cacheDir: string;
}
