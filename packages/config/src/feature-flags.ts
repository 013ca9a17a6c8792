/**
 * GitLab Runner's feature flags and their defaults (gitlabhq/gitlab-runner: helpers/featureflags/flags.go): the
 * project's one table. `runner config validate` warns about `[runners.feature_flags]` names outside it, and the
 * executor resolves and exports exactly these flags to every job, so a flag is either known to both or to
 * neither. Precedence at job time: the TOML value, then the job variable, then this default.
 *
 * `FF_USE_NEW_BASH_EVAL_STRATEGY` was removed upstream once its rollout completed (the subshell form became the
 * default); it is kept with the rolled-out value `true` so that a job or config that sets it to `false` still
 * gets the old `: | eval` form, which is also what `FF_USE_LEGACY_BASH_EVAL=true` selects.
 */
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({
  FF_CLEAN_UP_FAILED_CACHE_EXTRACT: false,
  FF_CONCRETE: false,
  FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: false,
  FF_DISABLE_POWERSHELL_STDIN: false,
  FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR: false,
  FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR: false,
  FF_ENABLE_BASH_EXIT_CODE_CHECK: false,
  FF_ENABLE_JOB_CLEANUP: false,
  FF_ENABLE_JOB_INPUTS_INTERPOLATION: true,
  FF_EXPORT_HIGH_CARDINALITY_METRICS: false,
  FF_GIT_URLS_WITHOUT_TOKENS: false,
  FF_HASH_CACHE_KEYS: false,
  FF_KUBERNETES_HONOR_ENTRYPOINT: false,
  FF_LOG_IMAGES_CONFIGURED_FOR_JOB: false,
  FF_MASK_ALL_DEFAULT_TOKENS: true,
  FF_NETWORK_PER_BUILD: false,
  FF_POSIXLY_CORRECT_ESCAPES: false,
  FF_PRINT_POD_EVENTS: false,
  FF_RESOLVE_FULL_TLS_CHAIN: false,
  FF_SCRIPT_SECTIONS: false,
  FF_SCRIPT_TO_STEP_MIGRATION: false,
  FF_SECRET_RESOLVING_FAILS_IF_MISSING: true,
  FF_SUSPENDABLE_ENVIRONMENTS: false,
  FF_TIMESTAMPS: true,
  FF_USE_ADAPTIVE_REQUEST_CONCURRENCY: true,
  FF_USE_ADVANCED_POD_SPEC_CONFIGURATION: false,
  FF_USE_DIRECT_DOWNLOAD: true,
  FF_USE_DOCKER_AUTOSCALER_DIAL_STDIO: true,
  FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR: false,
  FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: false,
  FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY: true,
  FF_USE_FASTZIP: true,
  FF_USE_FLEETING_ACQUIRE_HEARTBEATS: false,
  FF_USE_GITALY_CORRELATION_ID: true,
  FF_USE_GIT_BUNDLE_URIS: true,
  FF_USE_GIT_NATIVE_CLONE: false,
  FF_USE_GIT_PROACTIVE_AUTH: false,
  FF_USE_INIT_WITH_DOCKER_EXECUTOR: false,
  FF_USE_JOB_ROUTER: false,
  FF_USE_LEGACY_BASH_EVAL: false,
  FF_USE_LEGACY_GCS_CACHE_ADAPTER: false,
  FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY: false,
  FF_USE_LEGACY_S3_CACHE_ADAPTER: false,
  FF_USE_NATIVE_CONTAINER_STOP: false,
  FF_USE_NEW_BASH_EVAL_STRATEGY: true,
  FF_USE_PARALLEL_ARTIFACT_TRANSFER: false,
  FF_USE_PARALLEL_CACHE_TRANSFER: false,
  FF_USE_POD_ACTIVE_DEADLINE_SECONDS: true,
  FF_USE_POWERSHELL_PATH_RESOLVER: false,
  FF_USE_WINDOWS_JOB_OBJECT: false,
  FF_USE_WINDOWS_LEGACY_PROCESS_STRATEGY: false,
  FF_WAIT_FOR_POD_TO_BE_REACHABLE: false,
});

/** Whether `name` is on for a runner: its `[runners.feature_flags]` value, else the job's, else the default. */
export function isFeatureFlagOn(name: string, runnerFlags: Readonly<Record<string, boolean>>, jobValue?: boolean): boolean {
  if (Object.hasOwn(runnerFlags, name)) return runnerFlags[name] === true;
  if (jobValue !== undefined) return jobValue;
  return Object.hasOwn(FEATURE_FLAG_DEFAULTS, name) && FEATURE_FLAG_DEFAULTS[name] === true;
}
