import type { WireFeaturesInfo, WireVersionInfo } from './wire.js';

/** The `info` object sent with runner-scoped calls (wire shape; see GitLab Runner's common/network.go). */
export type RunnerInfo = WireVersionInfo;

/**
 * What this runner does with a job, as GitLab reads it from `info.features` to decide which jobs it may hand out.
 * Spec §4.2 lists what GitLab Runner's instance executor advertises; only what this implementation honours is
 * true here. False, unlike upstream: `native_steps_integration` (`run:` jobs fail, there is no step runner),
 * `vault_secrets` (`secrets:` jobs fail, no secret provider is implemented) and `job_inputs` (the executor does not
 * interpolate `${{ job.inputs.* }}`). Told the truth, GitLab does not route such jobs here (or fails them with a
 * clear reason) instead of this runner failing them after taking them.
 */
export const INSTANCE_EXECUTOR_FEATURES: Readonly<WireFeaturesInfo> = Object.freeze({
  // executor
  variables: true,
  shared: true,
  // shell
  artifacts: true,
  upload_multiple_artifacts: true,
  upload_raw_artifacts: true,
  cache: true,
  fallback_cache_keys: true,
  refspecs: true,
  masking: true,
  raw_variables: true,
  artifacts_exclude: true,
  multi_build_steps: true,
  return_exit_code: true,
  // network client
  trace_reset: true,
  trace_checksum: true,
  trace_size: true,
  cancelable: true,
  cancel_gracefully: true,
  two_phase_job_commit: true,
  // not supported by this runner
  native_steps_integration: false,
  vault_secrets: false,
  job_inputs: false,
  image: false,
  services: false,
  session: false,
  terminal: false,
  proxy: false,
});

/** Facts for {@link runnerInfo}. */
export interface RunnerInfoOptions {
  version: string;
  revision?: string;
  /** Default `bash`. */
  shell?: string;
  /** Default `instance`. */
  executor?: string;
  labels?: Record<string, string>;
  /** Overrides merged over {@link INSTANCE_EXECUTOR_FEATURES}. */
  features?: WireFeaturesInfo;
}

/** Builds the runner `info` object: name `gitlab-runner`, this platform, the instance executor's features. */
export function runnerInfo(options: RunnerInfoOptions): RunnerInfo {
  const info: RunnerInfo = {
    name: 'gitlab-runner',
    version: options.version,
    revision: options.revision ?? 'unknown',
    platform: process.platform,
    architecture: goArch(process.arch),
    executor: options.executor ?? 'instance',
    shell: options.shell ?? 'bash',
    features: { ...INSTANCE_EXECUTOR_FEATURES, ...options.features },
    config: { gpus: '' },
  };
  if (options.labels) info.labels = options.labels;
  return info;
}

/** Node's arch names where Go's differ (GitLab shows GOARCH). */
function goArch(arch: string): string {
  if (arch === 'x64') return 'amd64';
  if (arch === 'ia32') return '386';
  return arch;
}
