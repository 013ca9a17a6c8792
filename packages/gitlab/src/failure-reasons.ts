/**
 * Failure reasons the runner knows (spec §3.8). `job_canceled` is internal: GitLab learns about cancellation
 * from its own state, so it maps like any reason GitLab does not list.
 */
export type FailureReason =
  | 'script_failure'
  | 'runner_system_failure'
  | 'job_execution_timeout'
  | 'image_pull_failure'
  | 'unknown_failure'
  | 'runner_configuration_error'
  | 'runner_external_dependency_failure'
  | 'runner_interrupted'
  | 'job_canceled';

/** Reasons every GitLab version accepts, whatever the payload's `features.failure_reasons` says. */
export const ALWAYS_SUPPORTED_FAILURE_REASONS: readonly string[] = ['script_failure', 'runner_system_failure', 'job_execution_timeout'];

/** Newer reasons and the older, wider reason to fall back to when GitLab does not list them. */
const COMPATIBILITY: Readonly<Record<string, string>> = {
  image_pull_failure: 'runner_system_failure',
  runner_external_dependency_failure: 'runner_system_failure',
  runner_configuration_error: 'script_failure',
  configuration_error: 'script_failure',
};

/**
 * Maps `reason` to one GitLab accepts: empty → `script_failure`; listed in `supported` (the job payload's
 * `features.failure_reasons`) or always supported → as is; else the compatibility chain; else `unknown_failure`.
 */
export function mapFailureReason(reason: string | undefined, supported: readonly string[]): string {
  if (!reason) return 'script_failure';
  const ok = (r: string): boolean => supported.includes(r) || ALWAYS_SUPPORTED_FAILURE_REASONS.includes(r);
  let current = reason;
  for (let depth = 0; depth < 10; depth++) {
    if (ok(current)) return current;
    const next = COMPATIBILITY[current];
    if (next === undefined) break;
    current = next;
  }
  return 'unknown_failure';
}
