import type { RunnerEntry } from '@fleetrunner/config';
import type { JobPayload } from '@fleetrunner/gitlab';
import type { ExecutorSettings } from '../job/types.js';

/** Who runs the job: the parts of the executor settings that do not come from the runner entry. */
export interface RunnerIdentity {
  /** The runner's short token (first 9 characters after `glrt-`). */
  shortToken: string;
  managerHostname: string;
  version: { version: string; revision: string };
  /** The runner's TLS material (PEM) for `CI_SERVER_TLS_*_FILE`. */
  serverTls?: { caChain?: string; authCert?: string; authKey?: string };
}

/**
 * The executor settings of a `[[runners]]` entry — the one mapping `runner run` and `runner exec` share — with
 * GitLab Runner's `use_common_build_dir` rule applied (ignored, with a warning for the job log, unless
 * vm_isolation or max_use_count = 1).
 */
export function executorSettings(entry: RunnerEntry, o: RunnerIdentity): { settings: ExecutorSettings; warnings: string[] } {
  const warnings: string[] = [];
  const a = entry.autoscaler;
  const isolated = a?.vmIsolation.enabled ?? false;
  let useCommonBuildDir = entry.instance.useCommonBuildDir;
  if (useCommonBuildDir && !isolated && a?.maxUseCount !== 1) {
    warnings.push('use_common_build_dir is ignored: it needs vm_isolation or max_use_count = 1');
    useCommonBuildDir = false;
  }
  const settings: ExecutorSettings = {
    shell: entry.shell === 'sh' ? 'sh' : 'bash',
    buildsDir: entry.buildsDir,
    cacheDir: entry.cacheDir,
    shortToken: o.shortToken,
    environment: entry.environment,
    featureFlags: entry.featureFlags,
    useSlotCgroups: entry.useSlotCgroups,
    slotCgroupTemplate: entry.slotCgroupTemplate,
    useCommonBuildDir,
    scripts: {
      preGetSourcesScript: entry.preGetSourcesScript,
      postGetSourcesScript: entry.postGetSourcesScript,
      preBuildScript: entry.preBuildScript,
      postBuildScript: entry.postBuildScript,
    },
    serverUrl: entry.url,
    ...(entry.cloneUrl ? { cloneUrl: entry.cloneUrl } : {}),
    ...(entry.getSourcesTimeoutMs > 0 ? { getSourcesTimeoutMs: entry.getSourcesTimeoutMs } : {}),
    ...(o.serverTls ? { serverTls: o.serverTls } : {}),
    debugTraceDisabled: entry.debugTraceDisabled,
    customBuildDirEnabled: entry.customBuildDirEnabled,
    cleanGitConfig: entry.cleanGitConfig,
    safeDirectoryCheckout: entry.safeDirectoryCheckout,
    managerHostname: o.managerHostname,
    runnerVersion: { version: o.version.version, revision: o.version.revision },
  };
  return { settings, warnings };
}

/** Why a job cannot run at all, with the failure reason GitLab gets. */
export interface UnsupportedJob {
  reason: 'runner_configuration_error' | 'runner_system_failure';
  message: string;
}

/**
 * Why this runner cannot run `job` at all (checked before preparing an instance), or undefined. GitLab Runner
 * fails such jobs before they start: a shell that needs script files, a `run:` step list together with `script`,
 * native steps and secrets. (A vm_isolation job's image is checked by the job path itself, see vm-isolation.ts.)
 */
export function unsupportedJob(entry: RunnerEntry, job: JobPayload): UnsupportedJob | undefined {
  if (entry.shell !== 'bash' && entry.shell !== 'sh') {
    return { reason: 'runner_configuration_error', message: `shell ${entry.shell} is not supported by the instance executor (use bash or sh)` };
  }
  const hasScript = job.steps.some((s) => s.script.length > 0 && s.name !== 'after_script');
  if (job.run !== undefined && job.run.length > 0) {
    if (hasScript) return { reason: 'runner_system_failure', message: 'the job has both "run" and "script": only one of them may be used' };
    return { reason: 'runner_system_failure', message: 'native steps ("run:") are not supported by this runner' };
  }
  if (Object.keys(job.secrets).length > 0) {
    return { reason: 'runner_system_failure', message: `resolving secrets (${Object.keys(job.secrets).join(', ')}) is not supported by this runner` };
  }
  return undefined;
}
