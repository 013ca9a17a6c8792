import type { JobVariable } from './types.js';
import { variableValue } from './expand.js';

/**
 * Feature flags known to the runner with their defaults (upstream helpers/featureflags/flags.go). Each is
 * exported to every job with its resolved value, as upstream does.
 *
 * `FF_USE_NEW_BASH_EVAL_STRATEGY` was removed upstream once its rollout completed (the subshell form became the
 * default); it is kept here with the rolled-out value `true` so that a job or config that sets it to `false`
 * still gets the old `: | eval` form, which is also what `FF_USE_LEGACY_BASH_EVAL=true` selects.
 */
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({
  FF_NETWORK_PER_BUILD: false,
  FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY: false,
  FF_USE_DIRECT_DOWNLOAD: true,
  FF_USE_FASTZIP: true,
  FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR: false,
  FF_ENABLE_BASH_EXIT_CODE_CHECK: false,
  FF_USE_WINDOWS_LEGACY_PROCESS_STRATEGY: false,
  FF_USE_LEGACY_BASH_EVAL: false,
  FF_USE_NEW_BASH_EVAL_STRATEGY: true,
  FF_USE_POWERSHELL_PATH_RESOLVER: false,
  FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL: false,
  FF_SCRIPT_SECTIONS: false,
  FF_ENABLE_JOB_CLEANUP: false,
  FF_KUBERNETES_HONOR_ENTRYPOINT: false,
  FF_POSIXLY_CORRECT_ESCAPES: false,
  FF_RESOLVE_FULL_TLS_CHAIN: false,
  FF_DISABLE_POWERSHELL_STDIN: false,
  FF_USE_POD_ACTIVE_DEADLINE_SECONDS: true,
  FF_USE_ADVANCED_POD_SPEC_CONFIGURATION: false,
  FF_SECRET_RESOLVING_FAILS_IF_MISSING: true,
  FF_PRINT_POD_EVENTS: false,
  FF_USE_GIT_BUNDLE_URIS: true,
  FF_USE_GIT_NATIVE_CLONE: false,
  FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR: false,
  FF_USE_INIT_WITH_DOCKER_EXECUTOR: false,
  FF_LOG_IMAGES_CONFIGURED_FOR_JOB: false,
  FF_USE_DOCKER_AUTOSCALER_DIAL_STDIO: true,
  FF_CLEAN_UP_FAILED_CACHE_EXTRACT: false,
  FF_USE_WINDOWS_JOB_OBJECT: false,
  FF_TIMESTAMPS: true,
  FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: false,
  FF_USE_LEGACY_GCS_CACHE_ADAPTER: false,
  FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR: false,
  FF_USE_LEGACY_S3_CACHE_ADAPTER: false,
  FF_GIT_URLS_WITHOUT_TOKENS: false,
  FF_WAIT_FOR_POD_TO_BE_REACHABLE: false,
  FF_MASK_ALL_DEFAULT_TOKENS: true,
  FF_EXPORT_HIGH_CARDINALITY_METRICS: false,
  FF_USE_FLEETING_ACQUIRE_HEARTBEATS: false,
  FF_USE_EXPONENTIAL_BACKOFF_STAGE_RETRY: true,
  FF_USE_ADAPTIVE_REQUEST_CONCURRENCY: true,
  FF_USE_GITALY_CORRELATION_ID: true,
  FF_USE_GIT_PROACTIVE_AUTH: false,
  FF_HASH_CACHE_KEYS: false,
  FF_ENABLE_JOB_INPUTS_INTERPOLATION: true,
  FF_USE_JOB_ROUTER: false,
  FF_SCRIPT_TO_STEP_MIGRATION: false,
  FF_USE_PARALLEL_CACHE_TRANSFER: false,
  FF_USE_PARALLEL_ARTIFACT_TRANSFER: false,
  FF_CONCRETE: false,
  FF_SUSPENDABLE_ENVIRONMENTS: false,
  FF_USE_NATIVE_CONTAINER_STOP: false,
});

/** Resolved feature flags: every known flag with its effective value. */
export type FeatureFlags = Readonly<Record<string, boolean>>;

/** Parses a boolean the way Go's `strconv.ParseBool` does; undefined when it is not one. */
export function parseGoBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}

/**
 * Resolves every known flag: `[runners.feature_flags]` (TOML) wins, then a parsable value among `variables`
 * (the last one with the key; runner `environment` and job variables, already expanded), then the default.
 * An unparsable variable value keeps the default and adds a warning naming the flag (not the value, which
 * could be a masked one).
 */
export function resolveFeatureFlags(
  variables: readonly JobVariable[],
  toml: Readonly<Record<string, boolean>> = {},
): { flags: FeatureFlags; warnings: string[] } {
  const flags: Record<string, boolean> = {};
  const warnings: string[] = [];
  for (const [name, def] of Object.entries(FEATURE_FLAG_DEFAULTS)) {
    const fromToml = toml[name];
    if (fromToml !== undefined) {
      flags[name] = fromToml;
      continue;
    }
    const raw = variableValue(variables, name);
    const parsed = raw === '' ? undefined : parseGoBool(raw);
    if (raw !== '' && parsed === undefined) {
      warnings.push(`${name}: could not parse feature flag, expected bool`);
    }
    flags[name] = parsed ?? def;
  }
  return { flags: Object.freeze(flags), warnings };
}

/** True when `name` is on in `flags` (unknown flags are off). */
export function isFlagOn(flags: FeatureFlags, name: string): boolean {
  return flags[name] === true;
}
