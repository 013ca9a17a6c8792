import type { GitInfo, JobHook, JobStatus, JobStep, ShellName } from './types.js';
import type { JobEnvironment } from './environment.js';
import type { GitSourceOptions } from './git-sources.js';

/**
 * Stages whose work the manager does over the job's connection (cache and artifacts as tar streams through the
 * instance's `tar`): they have no generated script (there is no runner binary on the instance).
 */
export type TransferStage =
  | 'restore_cache'
  | 'download_artifacts'
  | 'archive_cache'
  | 'archive_cache_on_failure'
  | 'upload_artifacts_on_success'
  | 'upload_artifacts_on_failure';

/**
 * A stage of the job, named as upstream names its log section. User steps are `step_<name>` (`step_script`
 * for the `script` step); `clear_worktree` runs before a get_sources retry.
 */
export type StageName =
  | 'prepare_script'
  | 'get_sources'
  | 'clear_worktree'
  | TransferStage
  | 'after_script'
  | 'cleanup_file_variables'
  | `step_${string}`;

/** Headers printed after each stage's section start (upstream `GetStageDescription`). */
export function stageDescription(stage: StageName): string {
  const descriptions: Record<string, string> = {
    prepare_script: 'Preparing environment',
    get_sources: 'Getting source from Git repository',
    clear_worktree: 'Deleting all tracked and untracked files due to source fetch failure',
    restore_cache: 'Restoring cache',
    download_artifacts: 'Downloading artifacts',
    after_script: 'Running after_script',
    archive_cache: 'Saving cache for successful job',
    archive_cache_on_failure: 'Saving cache for failed job',
    upload_artifacts_on_failure: 'Uploading artifacts for failed job',
    upload_artifacts_on_success: 'Uploading artifacts for successful job',
    cleanup_file_variables: 'Cleaning up project directory and file based variables',
  };
  return descriptions[stage] ?? `Executing ${JSON.stringify(stage)} stage of the job script`;
}

/** The stage of a payload step: `step_<lower-cased name>`. */
export function stepStage(step: Pick<JobStep, 'name'>): StageName {
  return `step_${step.name.toLowerCase()}`;
}

/** Runner-configured scripts (`[[runners]]` keys). */
export interface RunnerScripts {
  readonly preGetSourcesScript?: string;
  readonly postGetSourcesScript?: string;
  readonly preBuildScript?: string;
  readonly postBuildScript?: string;
}

/** Everything {@link generateStageScript} reads. */
export interface ScriptInput {
  readonly shell: ShellName;
  /** From `prepareJobEnvironment` (paths, variables, flags, settings). */
  readonly env: JobEnvironment;
  readonly gitInfo: GitInfo;
  readonly steps: readonly JobStep[];
  readonly hooks?: readonly JobHook[];
  readonly runnerScripts?: RunnerScripts;
  readonly git?: GitSourceOptions;
  /** Manager hostname for "Running on <instance> via <manager>...". */
  readonly managerHostname?: string;
  /** CI_JOB_STATUS for after_script and the stages after it (default: the variable's value, `running`). */
  readonly jobStatus?: JobStatus;
  /** Payload `features.trace_sections`: with FF_SCRIPT_SECTIONS, multi-line commands get their own sections. */
  readonly traceSections?: boolean;
  /** Print the stage's `section_start`/`section_end` markers from the script. Default true. */
  readonly stageSections?: boolean;
  /**
   * `runner exec` copies the working tree instead of running git: `get_sources` is then only the runner's
   * pre (`pre`, run before the copy) or post (`post`, after it) get_sources scripts and hooks.
   */
  readonly copiedSources?: 'pre' | 'post';
  /** Stages whose section is marked `[collapsed=true]`. */
  readonly collapsedStages?: readonly StageName[];
}
