// Decides which jobs of a planned pipeline may start, given the results so far, the way GitLab processes a
// pipeline: a job without `needs` waits for every job of earlier stages, a job with `needs` for its needs;
// once those are complete, their composite status and the job's `when` decide whether it runs or is skipped.
import { RunnerError } from '@fleetrunner/common';
import { compositeOf, compositeStatus, isComplete, statusEntry, type CompositeStatus, type JobState, type StatusEntry } from './composite.js';
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

type Input = { state: JobState; allowedToFail: boolean };

/** The schedule's state machine; see {@link createSchedule}. */
class PipelineSchedule implements Schedule {
  readonly jobs: ScheduledJob[];
  private readonly byName: Map<string, ScheduledJob>;
  private readonly byStage: ScheduledJob[][];
  /** Jobs with `needs`, by the name of each job they need. */
  private readonly dependents = new Map<string, ScheduledJob[]>();
  /** Jobs to look at again, and the first stage whose stage-ordered jobs must be looked at again. */
  private readonly dirty = new Set<ScheduledJob>();
  private dirtyStage = 0;

  constructor(
    jobs: ScheduledJob[],
    private readonly named: boolean,
    private readonly onChange: ((job: ScheduledJob) => void) | undefined,
  ) {
    this.jobs = jobs;
    this.byName = new Map(jobs.map((s) => [s.job.name, s] as const));
    const stages = jobs.reduce((m, s) => Math.max(m, s.job.stageIndex + 1), 0);
    this.byStage = Array.from({ length: stages }, () => []);
    for (const s of jobs) {
      this.byStage[s.job.stageIndex]!.push(s);
      for (const n of s.job.needs ?? []) this.dependents.set(n.name, [...(this.dependents.get(n.name) ?? []), s]);
      this.dirty.add(s);
    }
    this.advance();
  }

  private set(s: ScheduledJob, state: JobState, reason?: string): void {
    s.state = state;
    if (reason !== undefined) s.reason = reason;
    for (const d of this.dependents.get(s.job.name) ?? []) this.dirty.add(d);
    this.dirtyStage = Math.min(this.dirtyStage, s.job.stageIndex + 1);
    this.onChange?.(s);
  }

  private static input(s: ScheduledJob): Input {
    return { state: s.state, allowedToFail: s.allowedToFail || (s.state === 'manual' && s.job.allowFailure) };
  }

  /** The composite of all jobs before each stage, computed once per pass rather than once per job. */
  private priorStatuses(): CompositeStatus[] {
    const out: CompositeStatus[] = [];
    const acc = new Set<StatusEntry>();
    for (const stage of this.byStage) {
      out.push(compositeOf(acc, false));
      for (const s of stage) acc.add(statusEntry(PipelineSchedule.input(s)));
    }
    return out;
  }

  private decide(s: ScheduledJob, prior: readonly CompositeStatus[]): void {
    const needs = s.job.needs;
    const dag = needs !== undefined;
    const prev = dag ? compositeStatus(needs.flatMap((n) => this.byName.get(n.name) ?? []).map(PipelineSchedule.input), true) : prior[s.job.stageIndex]!;
    if (!isComplete(prev)) return;
    const when = s.job.when;
    const valid = when === 'on_failure' ? ['failed'] : when === 'always' ? ['success', 'failed', 'skipped'] : dag ? ['success'] : ['success', 'skipped'];
    if (!valid.includes(prev)) this.set(s, 'skipped', skipReason(when, prev, dag));
    else if (when === 'manual' && !this.named) this.set(s, 'manual', 'manual job; name it on the command line to run it');
    else this.set(s, 'pending');
  }

  /** Decides waiting jobs until nothing changes; then skips what only a manual job could have released. */
  private advance(): void {
    while (this.dirty.size > 0 || this.dirtyStage < this.byStage.length) {
      const prior = this.priorStatuses();
      const candidates = this.jobs.filter((s) => this.dirty.has(s) || (s.job.needs === undefined && s.job.stageIndex >= this.dirtyStage));
      this.dirty.clear();
      this.dirtyStage = this.byStage.length;
      for (const s of candidates) if (s.state === 'created') this.decide(s, prior);
    }
    if (this.jobs.some((s) => s.state === 'pending' || s.state === 'running')) return;
    const blockers = this.jobs.filter((s) => s.state === 'manual' && !s.job.allowFailure).map((s) => s.job.name);
    for (const s of this.jobs) if (s.state === 'created') this.set(s, 'skipped', `blocked by manual job ${blockers.join(', ') || '(none)'}`);
  }

  private get(name: string, state: JobState): ScheduledJob {
    const s = this.byName.get(name);
    if (s === undefined) throw new RunnerError('not_found', `job ${JSON.stringify(name)} is not in the schedule`);
    if (s.state !== state) throw new RunnerError('invalid_argument', `job ${JSON.stringify(name)} is ${s.state}, not ${state}`);
    return s;
  }

  private static retryable(s: ScheduledJob, r: JobResult): boolean {
    const { max, when, exit_codes: codes } = s.job.retry;
    if (r.status !== 'failed' || s.attempts > max) return false;
    const reason = r.failureReason ?? 'script_failure';
    if (!when.includes('always') && !when.includes(reason)) return false;
    return codes.length === 0 || (r.exitCode !== undefined && codes.includes(r.exitCode));
  }

  ready(): PlannedJob[] {
    return this.jobs.filter((s) => s.state === 'pending').map((s) => s.job);
  }

  start(name: string): void {
    const s = this.get(name, 'pending');
    s.attempts++;
    this.set(s, 'running');
  }

  finish(name: string, result: JobResult): 'retry' | 'done' {
    const s = this.get(name, 'running');
    if (PipelineSchedule.retryable(s, result)) {
      this.set(s, 'pending', `retrying after ${result.failureReason ?? 'script_failure'} (attempt ${s.attempts + 1})`);
      return 'retry';
    }
    const code = result.exitCode;
    s.allowedToFail = result.status !== 'success' && (s.job.allowFailure || (code !== undefined && s.job.allowFailureExitCodes.includes(code)));
    this.set(s, result.status);
    this.advance();
    return 'done';
  }

  cancel(): void {
    for (const s of this.jobs) if (s.state === 'created' || s.state === 'pending') this.set(s, 'canceled', 'pipeline canceled');
  }

  done(): boolean {
    return !this.jobs.some((s) => s.state === 'created' || s.state === 'pending' || s.state === 'running');
  }

  status(): PipelineStatus {
    if (!this.done()) return 'running';
    const st = compositeStatus(this.jobs.map(PipelineSchedule.input), false);
    return st === 'success' || st === 'failed' || st === 'canceled' || st === 'skipped' || st === 'manual' ? st : 'success';
  }
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
  return new PipelineSchedule(jobs, named, options.onChange);
}
