import { RunnerError, nullLogger, toRunnerError, tryParseGoDuration } from '@fleetrunner/common';
import { errorLine, sectionEnd, sectionHeader, warningLine, type JobPayload } from '@fleetrunner/gitlab';
import {
  generateStageScript,
  prepareJobEnvironment,
  stageDescription,
  stepStage,
  type JobEnvironment,
  type JobStatus,
  type ScriptInput,
  type StageName,
} from '../shell/index.js';
import { runStageScript, type StageRun } from './stage-exec.js';
import { StageShell } from './stage-shell.js';
import { extractRemote, shq } from '../files/remote-tree.js';
import { archiveCaches, downloadArtifacts, restoreCaches, uploadArtifacts } from './transfers.js';
import type { JobContext, JobResult, StageRecord } from './types.js';

/** Job timeout when the payload gives none (≤ 0), seconds. */
export const DEFAULT_JOB_TIMEOUT_S = 7200;
/** RUNNER_AFTER_SCRIPT_TIMEOUT default, ms. */
export const DEFAULT_AFTER_SCRIPT_TIMEOUT_MS = 5 * 60_000;

/** How long the check after a failed stage waits for the instance to answer, ms. */
const REACHABLE_TIMEOUT_MS = 10_000;

type Failure = Pick<JobResult, 'failureReason' | 'exitCode' | 'message'> & { status: 'failed' | 'canceled' };

/** A duration job variable (`RUNNER_SCRIPT_TIMEOUT`) as Go's time.ParseDuration reads it, ms; undefined when unset, invalid or negative. */
function durationVariable(payload: JobPayload, key: string): number | undefined {
  const ms = tryParseGoDuration(variable(payload, key));
  return ms !== undefined && ms >= 0 ? ms : undefined;
}

function variable(payload: JobPayload, key: string): string | undefined {
  for (let i = payload.variables.length - 1; i >= 0; i--) if (payload.variables[i]!.key === key) return payload.variables[i]!.value;
  return undefined;
}

/**
 * Runs one job on an acquired instance over its SSH connection, stage by stage as GitLab Runner does: prepare,
 * get_sources, restore_cache, download_artifacts, the user steps, after_script, archive_cache, upload_artifacts,
 * cleanup. Stage output streams into `ctx.log`; the result carries the failure reason GitLab expects.
 * Never throws: every error becomes a failed result with a reason.
 */
export async function runJob(ctx: JobContext): Promise<JobResult> {
  const run = new JobRun(ctx);
  return run.execute();
}

class JobRun {
  private readonly stages: StageRecord[] = [];
  private readonly started: number;
  private readonly deadline = new AbortController();
  /** The job's one remote shell for its script stages (see StageShell). */
  private readonly shell: StageShell;
  private env!: JobEnvironment;
  private failure: Failure | undefined;
  private enteredUserScript = false;
  /** A get_sources timeout ends the job without the on-failure stages (upstream). */
  private endedAtOnce = false;

  constructor(private readonly ctx: JobContext) {
    this.started = ctx.clock.now();
    this.shell = new StageShell(ctx);
  }

  private get logger() {
    return (this.ctx.logger ?? nullLogger).child({ job: this.ctx.payload.id });
  }

  async execute(): Promise<JobResult> {
    const p = this.ctx.payload;
    const timeoutS = p.runnerInfo.timeoutSeconds > 0 ? p.runnerInfo.timeoutSeconds : DEFAULT_JOB_TIMEOUT_S;
    let toldSystemFailure = false;
    const timer = this.ctx.clock.setTimeout(() => this.deadline.abort(new RunnerError('timeout', `execution took longer than ${timeoutS} seconds`)), timeoutS * 1000);
    try {
      await this.stagesInOrder(timeoutS);
    } catch (err) {
      const e = toRunnerError(err);
      this.logger.warn('job failed with a system error', { error: e.message });
      this.fail(this.stopFailure() ?? { status: 'failed', failureReason: e.code === 'invalid_argument' || e.code === 'unsupported' ? 'runner_configuration_error' : 'runner_system_failure', message: e.message });
      // Other reasons get their own "Job failed: …" line below.
      if (this.failure?.failureReason === 'runner_system_failure') {
        this.ctx.log.write(errorLine(`Job failed (system failure): ${e.message}`));
        toldSystemFailure = true;
      }
    } finally {
      timer.clear();
      await this.shell.close();
    }
    const f = this.failure;
    if (!f) this.ctx.log.write(`\x1b[32;1mJob succeeded\x1b[0;m\n`);
    else if (f.status === 'failed' && f.failureReason === 'runner_system_failure' && !toldSystemFailure) this.ctx.log.write(errorLine(`Job failed (system failure): ${f.message ?? 'system failure'}`));
    else if (f.status === 'failed' && f.failureReason === 'script_failure' && f.exitCode !== undefined) this.ctx.log.write(errorLine(`Job failed: exit code ${f.exitCode}`));
    else if (f.status === 'failed' && f.failureReason !== 'runner_system_failure') this.ctx.log.write(errorLine(`Job failed: ${f.message ?? f.failureReason}`));
    else if (f.status === 'canceled') this.ctx.log.write(errorLine(`Job canceled${f.message ? `: ${f.message}` : ''}`));
    return {
      status: f ? f.status : 'success',
      ...(f?.failureReason ? { failureReason: f.failureReason } : {}),
      ...(f?.exitCode !== undefined ? { exitCode: f.exitCode } : {}),
      ...(f?.message ? { message: f.message } : {}),
      stages: this.stages,
      durationMs: this.ctx.clock.now() - this.started,
    };
  }

  /** The failure implied by a stop signal that has fired, if any. */
  private stopFailure(): Failure | undefined {
    const c = this.ctx;
    if (c.failSignal?.aborted) return { status: 'failed', failureReason: 'runner_system_failure', message: reasonText(c.failSignal.reason) || 'the runner failed the job' };
    if (c.lostSignal?.aborted) return { status: 'failed', failureReason: 'runner_system_failure', message: `instance ${c.instanceId} was lost` };
    if (c.abortSignal?.aborted) return { status: 'canceled', failureReason: 'job_canceled', message: reasonText(c.abortSignal.reason) };
    if (this.deadline.signal.aborted) return { status: 'failed', failureReason: 'job_execution_timeout', message: reasonText(this.deadline.signal.reason) };
    if (c.cancelSignal?.aborted) return { status: 'canceled', failureReason: 'job_canceled', message: reasonText(c.cancelSignal.reason) };
    return undefined;
  }

  /** Records the first failure only (job error > cache error > artifact error). */
  private fail(f: Failure): void {
    this.failure ??= f;
  }

  private get hardStopped(): boolean {
    const c = this.ctx;
    return Boolean(c.failSignal?.aborted || c.lostSignal?.aborted || c.abortSignal?.aborted || this.deadline.signal.aborted);
  }

  private async stagesInOrder(timeoutS: number): Promise<void> {
    const c = this.ctx;
    const p = c.payload;
    this.env = prepareJobEnvironment({
      jobVariables: p.variables,
      runnerEnvironment: c.settings.environment ?? [],
      featureFlags: c.settings.featureFlags ?? {},
      buildsDir: c.settings.buildsDir,
      cacheDir: c.settings.cacheDir,
      shortToken: c.settings.shortToken,
      concurrentId: c.concurrentId,
      concurrentProjectId: c.concurrentProjectId,
      repoUrl: p.gitInfo.repoUrl,
      projectId: p.jobInfo.projectId,
      projectFullPath: p.jobInfo.projectFullPath,
      useCommonBuildDir: c.settings.useCommonBuildDir ?? false,
      customBuildDirEnabled: c.settings.customBuildDirEnabled ?? false,
      debugTraceDisabled: c.settings.debugTraceDisabled ?? false,
      ...(c.settings.serverTls ? { tls: c.settings.serverTls } : {}),
      jobTimeoutSeconds: timeoutS,
      runnerVersion: c.settings.runnerVersion,
      ...(p.image?.name ? { jobImage: p.image.name } : {}),
      slotCgroup: { enabled: c.settings.useSlotCgroups ?? false, ...(c.settings.slotCgroupTemplate ? { template: c.settings.slotCgroupTemplate } : {}), slot: c.slot },
      allowGitFetch: p.allowGitFetch,
      gitDepth: p.gitInfo.depth,
    });
    for (const w of this.env.warnings) c.log.write(warningLine(w));

    // get_sources' first attempt (a script stage, never cancellable) goes along with prepare_script: one round trip.
    const sources = c.sourceArchive ? null : generateStageScript('get_sources', this.scriptInput('get_sources'));
    if (!(await this.scriptStage('prepare_script', { fatal: true, ...(sources !== null ? { then: sources } : {}) }))) return;
    const sourcesOk = await this.getSources();
    if (this.endedAtOnce) return;
    let prepOk = sourcesOk;
    if (prepOk) prepOk = await this.transferStage('restore_cache', (s) => restoreCaches(c, this.env.paths.projectDir, p.cache, s), { failJob: false });
    if (prepOk) prepOk = await this.transferStage('download_artifacts', (s) => downloadArtifacts(c, this.env.paths.projectDir, s), { failJob: true });
    if (prepOk && !this.hardStopped) {
      this.enteredUserScript = true;
      for (const step of p.steps.filter((s) => s.name !== 'after_script')) {
        if (this.failure && step.when !== 'always' && step.when !== 'on_failure') continue;
        await this.scriptStage(stepStage(step), { cancellable: true, ...(step.timeoutSeconds > 0 ? { timeoutMs: step.timeoutSeconds * 1000 } : {}), scriptTimeout: true, allowFailure: step.allowFailure });
        if (this.hardStopped) break;
      }
    }
    if (this.enteredUserScript && !this.hardStopped) {
      await this.scriptStage('after_script', {
        timeoutMs: durationVariable(p, 'RUNNER_AFTER_SCRIPT_TIMEOUT') ?? DEFAULT_AFTER_SCRIPT_TIMEOUT_MS,
        afterScript: true,
      });
    }
    if (this.hardStopped) return;
    const failed = this.failure !== undefined;
    await this.transferStage(failed ? 'archive_cache_on_failure' : 'archive_cache', (s) => archiveCaches(c, this.env.paths.projectDir, p.cache, failed, s), { failJob: false, skipWhenEmpty: p.cache.length === 0 });
    await this.transferStage(failed ? 'upload_artifacts_on_failure' : 'upload_artifacts_on_success', (s) => uploadArtifacts(c, this.env.paths.projectDir, p.artifacts, failed, s), { failJob: true, skipWhenEmpty: p.artifacts.length === 0 });
    await this.scriptStage('cleanup_file_variables', {});
  }

  private jobStatus(): JobStatus {
    if (!this.failure) return 'success';
    return this.failure.status === 'canceled' ? 'canceled' : 'failed';
  }

  private scriptInput(stage: StageName): ScriptInput {
    const c = this.ctx;
    const afterUser = stage === 'after_script' || stage === 'cleanup_file_variables';
    return {
      shell: c.settings.shell ?? 'bash',
      env: this.env,
      gitInfo: c.payload.gitInfo,
      steps: c.payload.steps,
      hooks: c.payload.hooks,
      ...(c.settings.scripts ? { runnerScripts: c.settings.scripts } : {}),
      git: {
        jobToken: c.payload.token,
        cleanGitConfig: c.settings.cleanGitConfig ?? true,
        safeDirectoryCheckout: c.settings.safeDirectoryCheckout ?? false,
        serverTls: { ca: Boolean(c.settings.serverTls?.caChain), cert: Boolean(c.settings.serverTls?.authCert && c.settings.serverTls.authKey) },
        ...(c.settings.serverUrl ? { serverUrl: c.settings.serverUrl } : {}),
        ...(c.settings.cloneUrl ? { cloneUrl: c.settings.cloneUrl, projectPath: c.payload.jobInfo.projectFullPath } : {}),
      },
      managerHostname: c.settings.managerHostname,
      ...(afterUser ? { jobStatus: this.jobStatus() } : {}),
      traceSections: c.payload.features.traceSections,
    };
  }

  /** Runs one generated-script stage; returns false when it failed. */
  private async scriptStage(
    stage: StageName,
    opts: { fatal?: boolean; cancellable?: boolean; timeoutMs?: number; scriptTimeout?: boolean; afterScript?: boolean; allowFailure?: boolean; then?: string },
  ): Promise<boolean> {
    const script = generateStageScript(stage, this.scriptInput(stage));
    if (script === null) return true;
    const started = this.ctx.clock.now();
    this.ctx.onStage?.(stage, 'start');
    let timeoutMs = opts.timeoutMs;
    if (opts.scriptTimeout) {
      const t = durationVariable(this.ctx.payload, 'RUNNER_SCRIPT_TIMEOUT');
      if (t !== undefined) timeoutMs = timeoutMs === undefined ? t : Math.min(timeoutMs, t);
    }
    const res = await this.shell.run(script, { cancellable: opts.cancellable ?? false, ...(timeoutMs !== undefined ? { timeoutMs } : {}), jobDeadline: this.deadline.signal }, opts.then);
    if (res.ended === 'exit' && res.exitCode !== 0) await this.ensureReachable(stage);
    const record = this.record(stage, started, res);
    if (record.outcome === 'success') return true;
    if (opts.afterScript) {
      const ignore = this.env.settings.afterScriptIgnoreErrors;
      if (res.ended === 'timeout' && !this.deadline.signal.aborted) this.ctx.log.write(warningLine('after_script timed out'));
      else if (res.ended === 'exit') this.ctx.log.write(warningLine(`after_script failed, but job will continue unaffected: exit code ${res.exitCode}`));
      if (ignore || res.ended !== 'exit') return this.outcomeOfStop(res);
    }
    if (opts.allowFailure && res.ended === 'exit') {
      this.ctx.log.write(warningLine(`${stage} failed with exit code ${res.exitCode}, allowed to fail`));
      return true;
    }
    return this.outcomeOfStop(res, opts.fatal ? 'runner_system_failure' : 'script_failure');
  }

  /**
   * A failed stage on an instance that is going away (its processes killed one by one as a VM vanishes) can report
   * an exit status just before the connection drops: check the instance still answers before calling it the
   * script's failure. Throws (a system failure) when it does not.
   */
  private async ensureReachable(stage: StageName): Promise<void> {
    const ctl = new AbortController();
    const timer = this.ctx.clock.setTimeout(() => ctl.abort(new RunnerError('timeout', 'no answer')), REACHABLE_TIMEOUT_MS);
    try {
      await this.ctx.connection.exec('true', { signal: ctl.signal });
    } catch (err) {
      const e = toRunnerError(err);
      if (ctl.signal.aborted) {
        this.logger.warn('instance did not answer a check after a failed stage', { stage, timeoutMs: REACHABLE_TIMEOUT_MS });
        return;
      }
      if (e.code === 'unavailable' || e.code === 'channel_open_failed') throw new RunnerError('unavailable', `${e.message} (after ${stage} failed)`, { cause: err });
    } finally {
      timer.clear();
    }
  }

  private outcomeOfStop(res: StageRun, exitReason: 'script_failure' | 'runner_system_failure' = 'script_failure'): boolean {
    if (res.ended === 'exit') {
      this.fail({ status: 'failed', failureReason: exitReason, exitCode: res.exitCode ?? 1, message: `exit code ${res.exitCode ?? res.signal}` });
      return false;
    }
    if (res.ended === 'timeout' && !this.deadline.signal.aborted) {
      this.fail({ status: 'failed', failureReason: 'job_execution_timeout', message: 'script timeout exceeded' });
      return false;
    }
    const f = this.stopFailure();
    if (f) this.fail(f);
    return false;
  }

  private record(stage: string, started: number, res: StageRun): StageRecord {
    const outcome: StageRecord['outcome'] = res.ended === 'exit' ? (res.exitCode === 0 ? 'success' : 'failed') : res.ended === 'timeout' ? 'timeout' : 'canceled';
    const r: StageRecord = { name: stage, durationMs: this.ctx.clock.now() - started, outcome, ...(res.exitCode !== null ? { exitCode: res.exitCode } : {}) };
    this.stages.push(r);
    this.ctx.onStage?.(stage, 'end');
    return r;
  }

  /** get_sources with GET_SOURCES_ATTEMPTS, clearing the work tree before a retry. */
  private async getSources(): Promise<boolean> {
    const archive = this.ctx.sourceArchive;
    if (archive) {
      const dir = this.env.paths.projectDir;
      const limit = this.ctx.settings.getSourcesTimeoutMs;
      const copied = await this.transferStage('get_sources', async (signal) => {
        await this.copiedSourcesHook('pre', signal);
        this.ctx.log.write(`\x1b[32;1mCopying the local working tree into ${dir}\x1b[0;m\n`);
        await replaceRemoteDir(this.ctx.connection, dir, signal);
        await extractRemote(this.ctx.connection, dir, archive(), { signal, what: 'the working tree', confineLinks: false });
        await this.copiedSourcesHook('post', signal);
      }, { failJob: true, ...(limit ? { timeoutMs: limit } : {}) });
      // As a get_sources script that times out: the job ends at once.
      if (this.stages.at(-1)?.outcome === 'timeout') this.endedAtOnce = true;
      return copied;
    }
    const attempts = this.env.settings.getSourcesAttempts;
    for (let i = 1; i <= attempts; i++) {
      if (i > 1) {
        this.ctx.log.write(warningLine(`Retrying get_sources (attempt ${i} of ${attempts})`));
        await this.scriptStage('clear_worktree', {});
      }
      const before = this.failure;
      const limit = this.ctx.settings.getSourcesTimeoutMs;
      if (await this.scriptStage('get_sources', limit ? { timeoutMs: limit } : {})) return true;
      if (this.stages.at(-1)?.outcome === 'timeout') {
        this.endedAtOnce = true;
        return false;
      }
      if (this.hardStopped || i === attempts) return false;
      this.failure = before;
    }
    return false;
  }

  /**
   * `pre_get_sources_script` / `post_get_sources_script` (and the job's hooks) around the copy of the working tree,
   * as around a git fetch. A non-zero exit fails the job (script_failure); `signal` (the stage's stop) ends it.
   */
  private async copiedSourcesHook(part: 'pre' | 'post', signal: AbortSignal): Promise<void> {
    const script = generateStageScript('get_sources', { ...this.scriptInput('get_sources'), copiedSources: part, stageSections: false });
    if (script === null) return;
    const res = await runStageScript({ ...this.ctx, abortSignal: signal }, script, { cancellable: false, jobDeadline: this.deadline.signal });
    if (res.ended !== 'exit') throw new RunnerError('aborted', `${part}_get_sources_script stopped`);
    if (res.exitCode !== 0) throw new RunnerError('internal', `${part}_get_sources_script failed: exit code ${res.exitCode ?? res.signal}`, { details: { failureReason: 'script_failure' } });
  }

  /** A stage done by the manager over the connection (cache, artifacts), in its own log section. */
  private async transferStage(stage: StageName, fn: (signal: AbortSignal) => Promise<void>, opts: { failJob: boolean; skipWhenEmpty?: boolean; timeoutMs?: number }): Promise<boolean> {
    if (opts.skipWhenEmpty) return true;
    const c = this.ctx;
    if (stage === 'restore_cache' && c.payload.cache.length === 0) return true;
    if (stage === 'download_artifacts' && !c.payload.dependencies.some((d) => d.artifactsFile)) return true;
    const started = c.clock.now();
    c.log.write(sectionHeader(stage, stageDescription(stage), started));
    c.onStage?.(stage, 'start');
    const stop = new AbortController();
    const onStop = (): void => stop.abort(new RunnerError('aborted', `${stage} stopped`));
    const signals = [c.failSignal, c.lostSignal, c.abortSignal, this.deadline.signal].filter((s): s is AbortSignal => s !== undefined);
    for (const s of signals) s.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    const timer = opts.timeoutMs
      ? c.clock.setTimeout(() => {
          timedOut = true;
          onStop();
        }, opts.timeoutMs)
      : undefined;
    let outcome: StageRecord['outcome'] = 'success';
    try {
      await fn(stop.signal);
    } catch (err) {
      outcome = timedOut ? 'timeout' : stop.signal.aborted ? 'canceled' : 'error';
      const msg = toRunnerError(err).message;
      if (timedOut) {
        c.log.write(errorLine(`${stage}: timed out after ${opts.timeoutMs! / 1000}s`));
        this.fail({ status: 'failed', failureReason: 'job_execution_timeout', message: `${stage} timeout exceeded` });
      } else if (stop.signal.aborted) this.fail(this.stopFailure() ?? { status: 'failed', failureReason: 'runner_system_failure', message: msg });
      else if (opts.failJob) {
        c.log.write(errorLine(`${stage}: ${msg}`));
        this.fail({ status: 'failed', failureReason: stageFailureReason(stage, err), message: `${stage}: ${msg}` });
      } else c.log.write(warningLine(`${stage}: ${msg}`));
    } finally {
      timer?.clear();
      for (const s of signals) s.removeEventListener('abort', onStop);
    }
    c.log.write(sectionEnd(stage, c.clock.now() / 1000));
    this.stages.push({ name: stage, durationMs: c.clock.now() - started, outcome });
    c.onStage?.(stage, 'end');
    return outcome === 'success' || !opts.failJob;
  }
}

/**
 * The failure reason of a failed manager-side stage: the one the error names (`details.failureReason`, e.g. an
 * artifacts archive that cannot be extracted), else script_failure for download_artifacts (the helper's exit
 * upstream) and runner_system_failure for the others.
 */
function stageFailureReason(stage: StageName, err: unknown): 'script_failure' | 'runner_system_failure' {
  const named = toRunnerError(err).details.failureReason;
  if (named === 'script_failure' || named === 'runner_system_failure') return named;
  return stage === 'download_artifacts' ? 'script_failure' : 'runner_system_failure';
}

/** Empties (or creates) a directory on the instance. */
async function replaceRemoteDir(conn: JobContext['connection'], dir: string, signal: AbortSignal): Promise<void> {
  const res = await conn.exec(`rm -rf ${shq(dir)} && mkdir -p ${shq(dir)}`, { signal });
  if (res.exitCode !== 0) throw new RunnerError('internal', `clearing ${dir}: exit ${res.exitCode ?? res.signal}`);
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : '';
}
