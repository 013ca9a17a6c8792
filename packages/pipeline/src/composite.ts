// GitLab's composite status: the status of a set of jobs, as seen by a job that waits for them. A failed or
// canceled job that is allowed to fail counts as "success with warnings"; a manual job that is allowed to fail
// and was not run is "ignored". For a job with `needs` (dag), one skipped or ignored need skips it.

/** Job states of a schedule, named as GitLab names them. */
export type JobState = 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';

/** What a composite can be. `success`, `failed`, `canceled` and `skipped` are complete. */
export type CompositeStatus = JobState;

/** A job's contribution to a composite. */
export type StatusEntry = JobState | 'success_with_warnings' | 'ignored';
type Entry = StatusEntry;

/** A job's state and whether a failure of it is allowed. */
export interface StatusInput {
  state: JobState;
  allowedToFail: boolean;
}

/** What a job contributes to a composite. */
export function statusEntry(s: StatusInput): StatusEntry {
  if (s.allowedToFail && (s.state === 'failed' || s.state === 'canceled')) return 'success_with_warnings';
  if (s.allowedToFail && s.state === 'manual') return 'ignored';
  return s.state;
}

/** The composite status of `inputs`; `success` when there are none. */
export function compositeStatus(inputs: readonly StatusInput[], dag: boolean): CompositeStatus {
  return compositeOf(new Set(inputs.map(statusEntry)), dag);
}

/** The composite status of a set of entries; `success` when empty. */
export function compositeOf(set: ReadonlySet<StatusEntry>, dag: boolean): CompositeStatus {
  if (set.size === 0) return 'success';
  const onlyOf = (...names: Entry[]): boolean => [...set].every((s) => names.includes(s));
  const anyOf = (...names: Entry[]): boolean => names.some((n) => set.has(n));
  if (dag && anyOf('skipped', 'ignored')) return 'skipped';
  if (onlyOf('skipped', 'ignored')) return 'skipped';
  if (onlyOf('success', 'skipped', 'success_with_warnings', 'ignored')) return 'success';
  if (onlyOf('created', 'success_with_warnings', 'ignored')) return 'created';
  if (onlyOf('canceled', 'success', 'skipped', 'success_with_warnings', 'ignored')) return 'canceled';
  if (onlyOf('pending', 'created', 'skipped', 'success_with_warnings', 'ignored')) return 'pending';
  if (anyOf('running', 'pending')) return 'running';
  if (anyOf('manual')) return 'manual';
  if (anyOf('created')) return 'running';
  return 'failed';
}

/** True for statuses after which a waiting job is decided (run or skipped). */
export function isComplete(s: CompositeStatus): boolean {
  return s === 'success' || s === 'failed' || s === 'canceled' || s === 'skipped';
}
