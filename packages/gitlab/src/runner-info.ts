import type { WireFeaturesInfo, WireVersionInfo } from './wire.js';

/** The `info` object sent with runner-scoped calls (wire shape; see GitLab Runner's common/network.go). */
export type RunnerInfo = WireVersionInfo;

/** What the instance executor with a bash/sh shell supports (spec §4.2). */
export const INSTANCE_EXECUTOR_FEATURES: Readonly<WireFeaturesInfo> = Object.freeze({
  // executor
  variables: true,
  shared: true,
  native_steps_integration: true,
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
  vault_secrets: true,
  return_exit_code: true,
  // network client
  trace_reset: true,
  trace_checksum: true,
  trace_size: true,
  cancelable: true,
  cancel_gracefully: true,
  two_phase_job_commit: true,
  job_inputs: true,
  // not supported by the instance executor
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
