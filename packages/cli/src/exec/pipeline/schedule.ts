// Decides which jobs of a planned pipeline may start, given the results so far, the way GitLab processes a
// pipeline: a job without `needs` waits for every job of earlier stages, a job with `needs` for its needs;
// once those are complete, their composite status and the job's `when` decide whether it runs or is skipped.
import { RunnerError } from '@fleetrunner/common';
import { compositeStatus, isComplete, type CompositeStatus, type JobState } from './composite.js';
import { findNeedsCycle } from './needs.js';
import { selectJobs } from './select.js';
import type { Pipeline, PlannedJob } from './types.js';

export type { JobState } from './composite.js';

/** The outcome of one attempt of a job, as the caller reports it. */
export interface JobResult {
  status: 'success' | 'failed' | 'canceled';
  /** Exit code of the script, when it ran to an exit (for `allow_failure: exit_codes` and `retry: exit_codes`). */
  exitCode?: number;
  /** GitLab failure reason (`script_failure`, `runner_system_failure`, `job_execution_timeout`, …); default `script_failure`. */
  failureReason?: string;
}

/** A job of the schedule and what became of it. */
export interface ScheduledJob {
  /** The job to run; a manual job that runs because it was named carries `CI_JOB_MANUAL=true`. */
  readonly job: PlannedJob;
  state: JobState;
  /** Attempts started so far (retries included). */
  attempts: number;
  /** true when the job failed but its failure is allowed (`allow_failure`, or a listed exit code). */
  allowedToFail: boolean;
  /** Why the job was skipped or left as manual. */
  reason?: string;
}

/** Options of {@link createSchedule}. */
export interface ScheduleOptions {
  /** Job names from the command line; see {@link selectJobs} for the rule. Empty or absent: every job. */
  only?: readonly string[];
  /** Called after every state change of a job. */
  onChange?: (job: ScheduledJob) => void;
}

/**
 * Pipeline status from its jobs (GitLab's composite): `running` until done; `manual` when a manual job that is
 * not allowed to fail was left unrun (GitLab's "blocked").
 */
export type PipelineStatus = 'success' | 'failed' | 'canceled' | 'skipped' | 'manual' | 'running';

/** Tells which jobs are ready as results come in. Not thread-safe by design: one caller drives it. */
export interface Schedule {
  /** The selected jobs, in pipeline order, with their live state. */
  readonly jobs: readonly ScheduledJob[];
  /** Jobs that may start now (state `pending`), in pipeline order. */
  ready(): PlannedJob[];
  /** Marks a ready job as running. */
  start(name: string): void;
  /** Records the result of a running job; returns `retry` when the job is pending again for another attempt. */
  finish(name: string, result: JobResult): 'retry' | 'done';
  /** Cancels every job that has not started; running jobs are the caller's to stop and report as canceled. */
  cancel(): void;
  /** True when no job is pending or running and none can become so. */
  done(): boolean;
  /** The pipeline status from the jobs' states (`running` until done). */
  status(): PipelineStatus;
}

function validate(pipeline: Pipeline): void {
  const names = new Set(pipeline.jobs.map((j) => j.name));
  for (const j of pipeline.jobs) {
    for (const n of [...(j.needs ?? []).map((x) => x.name), ...j.dependencies]) {
      if (names.has(n)) continue;
      const ex = pipeline.excluded.find((e) => e.name === n);
      throw new RunnerError('invalid_argument', `job ${JSON.stringify(j.name)} needs ${JSON.stringify(n)}, which is ${ex === undefined ? 'not a job of the pipeline' : `not in the pipeline (${ex.reason})`}`);
    }
  }
  const cycle = findNeedsCycle(new Map(pipeline.jobs.map((j) => [j.name, (j.needs ?? []).map((x) => x.name)])));
  if (cycle !== undefined) throw new RunnerError('invalid_argument', `needs cycle: ${cycle.join(' → ')}`);
}

function withManualFlag(job: PlannedJob): PlannedJob {
  return { ...job, variables: [...job.variables, { key: 'CI_JOB_MANUAL', value: 'true', public: true, file: false, masked: false, raw: false }] };
}

function skipReason(when: PlannedJob['when'], prev: CompositeStatus, dag: boolean): string {
  if (when === 'on_failure') return 'no earlier job failed (when: on_failure)';
  if (prev === 'skipped' && dag) return 'a needed job did not run';
  if (prev === 'canceled') return 'an earlier job was canceled';
  return dag ? 'a needed job failed' : 'an earlier job failed';
}

/**
 * Creates the schedule of a planned pipeline. Without `only`, every job takes part and manual jobs are left as
 * `manual` (not run). With `only`, the named jobs and what they need take part, and manual jobs among them run.
 * Throws `invalid_argument` for needs of unknown or excluded jobs and for needs cycles, `not_found` for a name
 * that is not a job of the pipeline.
 */
export function createSchedule(pipeline: Pipeline, options: ScheduleOptions = {}): Schedule {
  validate(pipeline);
  const named = options.only !== undefined && options.only.length > 0;
  const selected = named ? selectJobs(pipeline, options.only!) : new Set(pipeline.jobs.map((j) => j.name));
  const jobs: ScheduledJob[] = pipeline.jobs
    .filter((j) => selected.has(j.name))
    .map((j) => ({ job: named && j.when === 'manual' ? withManualFlag(j) : j, state: 'created', attempts: 0, allowedToFail: false }));
  const byName = new Map(jobs.map((s) => [s.job.name, s] as const));
  const set = (s: ScheduledJob, state: JobState, reason?: string): void => {
    s.state = state;
    if (reason !== undefined) s.reason = reason;
    options.onChange?.(s);
  };
  const input = (s: ScheduledJob) => ({ state: s.state, allowedToFail: s.allowedToFail || (s.state === 'manual' && s.job.allowFailure) });
  const previous = (s: ScheduledJob): ScheduledJob[] =>
    s.job.needs !== undefined ? s.job.needs.flatMap((n) => byName.get(n.name) ?? []) : jobs.filter((o) => o.job.stageIndex < s.job.stageIndex);

  const decide = (s: ScheduledJob): boolean => {
    const dag = s.job.needs !== undefined;
    const prev = compositeStatus(previous(s).map(input), dag);
    if (!isComplete(prev)) return false;
    const when = s.job.when;
    const valid = when === 'on_failure' ? ['failed'] : when === 'always' ? ['success', 'failed', 'skipped'] : dag ? ['success'] : ['success', 'skipped'];
    if (!valid.includes(prev)) set(s, 'skipped', skipReason(when, prev, dag));
    else if (when === 'manual' && !named) set(s, 'manual', 'manual job; name it on the command line to run it');
    else set(s, 'pending');
    return true;
  };

  const advance = (): void => {
    for (let changed = true; changed; ) {
      changed = false;
      for (const s of jobs) if (s.state === 'created' && decide(s)) changed = true;
    }
    if (jobs.some((s) => s.state === 'pending' || s.state === 'running')) return;
    const blockers = jobs.filter((s) => s.state === 'manual' && !s.job.allowFailure).map((s) => s.job.name);
    for (const s of jobs) if (s.state === 'created') set(s, 'skipped', `blocked by manual job ${blockers.join(', ') || '(none)'}`);
  };

  const get = (name: string, state: JobState): ScheduledJob => {
    const s = byName.get(name);
    if (s === undefined) throw new RunnerError('not_found', `job ${JSON.stringify(name)} is not in the schedule`);
    if (s.state !== state) throw new RunnerError('invalid_argument', `job ${JSON.stringify(name)} is ${s.state}, not ${state}`);
    return s;
  };

  const retryable = (s: ScheduledJob, r: JobResult): boolean => {
    const { max, when, exit_codes: codes } = s.job.retry;
    if (r.status !== 'failed' || s.attempts > max) return false;
    const reason = r.failureReason ?? 'script_failure';
    if (!when.includes('always') && !when.includes(reason)) return false;
    return codes.length === 0 || (r.exitCode !== undefined && codes.includes(r.exitCode));
  };

  advance();
  return {
    jobs,
    ready: () => jobs.filter((s) => s.state === 'pending').map((s) => s.job),
    start(name) {
      const s = get(name, 'pending');
      s.attempts++;
      set(s, 'running');
    },
    finish(name, result) {
      const s = get(name, 'running');
      if (retryable(s, result)) {
        set(s, 'pending', `retrying after ${result.failureReason ?? 'script_failure'} (attempt ${s.attempts + 1})`);
        return 'retry';
      }
      s.allowedToFail = result.status !== 'success' && (s.job.allowFailure || (result.exitCode !== undefined && s.job.allowFailureExitCodes.includes(result.exitCode)));
      set(s, result.status);
      advance();
      return 'done';
    },
    cancel() {
      for (const s of jobs) if (s.state === 'created' || s.state === 'pending') set(s, 'canceled', 'pipeline canceled');
    },
    done: () => !jobs.some((s) => s.state === 'created' || s.state === 'pending' || s.state === 'running'),
    status() {
      if (jobs.some((s) => s.state === 'created' || s.state === 'pending' || s.state === 'running')) return 'running';
      const st = compositeStatus(jobs.map(input), false);
      return st === 'success' || st === 'failed' || st === 'canceled' || st === 'skipped' || st === 'manual' ? st : 'success';
    },
  };
}
