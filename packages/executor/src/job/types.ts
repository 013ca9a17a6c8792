import type { Readable } from 'node:stream';
import type { Clock, Logger } from '@fleetrunner/common';
import type { Connection } from '@fleetrunner/connector';
import type { ArtifactSpec, FailureReason, JobDependency, JobPayload, LogStream } from '@fleetrunner/gitlab';
import type { ArchiveStore } from '../files/stores.js';
import type { RunnerScripts, RunnerVersionInfo, ShellName } from '../shell/index.js';

/** Per-runner settings of the executor (`[[runners]]` and `[runners.autoscaler]` keys). */
export interface ExecutorSettings {
  /** `shell`: `bash` (default) or `sh`. */
  shell?: ShellName;
  /** `builds_dir`, default `builds` relative to the SSH user's home. */
  buildsDir?: string;
  /** `cache_dir`, default `cache`. */
  cacheDir?: string;
  /** The runner's short token (CI_RUNNER_SHORT_TOKEN, part of the build dir). */
  shortToken: string;
  /** `environment` entries `KEY=VALUE`. */
  environment?: readonly string[];
  /** `[runners.feature_flags]`. */
  featureFlags?: Readonly<Record<string, boolean>>;
  /** `use_slot_cgroups` and `slot_cgroup_template`. */
  useSlotCgroups?: boolean;
  slotCgroupTemplate?: string;
  /** Honoured `use_common_build_dir` (the caller applies upstream's rule). */
  useCommonBuildDir?: boolean;
  /** `pre_get_sources_script`, … */
  scripts?: RunnerScripts;
  /** Runner `url`, for submodule credentials; runner `clone_url`. */
  serverUrl?: string;
  cloneUrl?: string;
  managerHostname: string;
  runnerVersion: RunnerVersionInfo;
  /** Time between TERM and KILL of a cancelled stage, ms. Default 10000. */
  killGraceMs?: number;
  /** `get_sources_timeout`: bound of each get_sources attempt, ms; 0/undefined = the job timeout only. A get_sources
   * timeout ends the job at once (job_execution_timeout; no cache, artifacts or cleanup stages), as upstream. */
  getSourcesTimeoutMs?: number;
  /** `debug_trace_disabled`: CI_DEBUG_TRACE is refused with a warning. */
  debugTraceDisabled?: boolean;
  /** `[runners.custom_build_dir] enabled`: GIT_CLONE_PATH may choose the project dir (default false, upstream's code). */
  customBuildDirEnabled?: boolean;
  /** `clean_git_config` (default true) and `safe_directory_checkout` (default false). */
  cleanGitConfig?: boolean;
  safeDirectoryCheckout?: boolean;
  /**
   * The runner's TLS material (PEM) for the job's `CI_SERVER_TLS_CA_FILE` / `_CERT_FILE` / `_KEY_FILE` file
   * variables; git on the instance uses them for the runner's GitLab.
   */
  serverTls?: { caChain?: string; authCert?: string; authKey?: string };
}

/** Where the job log goes. Masking is the sink's job (GitLab's trace masks; `runner exec` masks too). */
export interface JobLog {
  /** `stream`: where the chunk came from (the job's stdout/stderr); absent for the runner's own lines. */
  write(chunk: string | Buffer, stream?: LogStream): void;
}

/**
 * Where artifacts go and come from. The executor hands over each artifacts entry as a tar stream of the selected
 * files (made by the instance's own `tar`); the backend turns it into what its GitLab expects.
 */
export interface ArtifactBackend {
  upload(spec: ArtifactSpec, archive: Readable, options: { entries: readonly string[]; signal?: AbortSignal }): Promise<void>;
  /** A tar stream of a dependency's artifacts, or undefined when it has none. */
  download(dependency: JobDependency, options: { signal?: AbortSignal }): Promise<Readable | undefined>;
}

/** Everything one job run needs. */
export interface JobContext {
  payload: JobPayload;
  /** The instance's shared SSH connection. */
  connection: Connection;
  instanceId: string;
  /** The taskscaler slot on the instance (GITLAB_RUNNER_SLOT_CGROUP); -1 = none. */
  slot: number;
  /** CI_CONCURRENT_ID / CI_CONCURRENT_PROJECT_ID. */
  concurrentId: number;
  concurrentProjectId: number;
  settings: ExecutorSettings;
  log: JobLog;
  artifacts: ArtifactBackend;
  /** Cache archives by key, on the manager. */
  cache: ArchiveStore;
  clock: Clock;
  logger?: Logger;
  /** Hard abort (job canceled or failed on the server, forced shutdown): everything stops, nothing more runs. */
  abortSignal?: AbortSignal;
  /** Graceful cancel (`Job-Status: canceling`): the user script stops; after_script, cache and artifacts still run. */
  cancelSignal?: AbortSignal;
  /** Fires when the instance is lost: the job fails with a system failure. */
  lostSignal?: AbortSignal;
  /**
   * Fires when the manager fails the job from outside (an error escaped from one of its streams): everything stops
   * and the job fails as a system failure; the reason (an Error) says why.
   */
  failSignal?: AbortSignal;
  /**
   * Sources as a tar stream (`runner exec` ships the local working tree this way). When set, get_sources clears the
   * project dir and extracts it there instead of running git.
   */
  sourceArchive?: () => Readable;
  /**
   * Called as each stage (`get_sources`, `step_script`, …) starts and ends — the stage as an event, never parsed
   * back from the log (a script can print any section marker). Must not throw.
   */
  onStage?(stage: string, phase: StagePhase): void;
}

/** Where a stage is: `start` before its first command, `end` once its outcome is known. */
export type StagePhase = 'start' | 'end';

/** Timing and outcome of one stage. */
export interface StageRecord {
  name: string;
  durationMs: number;
  /** Exit status of the stage's remote command; undefined for stages run without one or skipped. */
  exitCode?: number;
  outcome: 'success' | 'failed' | 'skipped' | 'canceled' | 'timeout' | 'error';
}

/** How a job ended. */
export interface JobResult {
  status: 'success' | 'failed' | 'canceled';
  failureReason?: FailureReason | 'job_canceled';
  exitCode?: number;
  /** Why, in one line (never with secrets). */
  message?: string;
  stages: StageRecord[];
  durationMs: number;
}
