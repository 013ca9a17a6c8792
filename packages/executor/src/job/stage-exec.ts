import { linkSignals, RunnerError } from '@fleetrunner/common';
import { WORK_STDERR, WORK_STDOUT } from '@fleetrunner/gitlab';
import { shellCommand } from '../shell/index.js';
import type { JobContext } from './types.js';

/** Default time between TERM and KILL of a cancelled stage, ms. */
export const DEFAULT_STAGE_KILL_GRACE_MS = 10_000;

/** How a stage's remote command ended. */
export interface StageRun {
  /** `exit`: the command finished (see exitCode); otherwise the signal that stopped it. */
  ended: 'exit' | 'timeout' | 'canceled' | 'aborted' | 'lost';
  exitCode: number | null;
  signal?: string;
}

/** Which stop signals apply to a stage. */
export interface StageStops {
  /** Stop on the job's graceful cancel (user-script stages only). */
  cancellable: boolean;
  /** Stage timeout, ms; undefined = none besides the job's. */
  timeoutMs?: number;
  /** The job deadline signal. */
  jobDeadline: AbortSignal;
}

/**
 * Runs one generated stage script as one remote command (`bash -s` / `sh -s`, script on stdin), streaming its output
 * into the job log. A stop (timeout, cancel, abort, lost instance) kills the remote process group; the result says
 * which. Connection failures reject with a RunnerError.
 */
export async function runStageScript(ctx: JobContext, script: string, stops: StageStops): Promise<StageRun> {
  const { signal, which, dispose } = stageStop(ctx, stops);
  try {
    if (signal.aborted) return { ended: which(), exitCode: null };
    const res = await ctx.connection.exec(shellCommand(ctx.settings.shell ?? 'bash').command, {
      stdin: script,
      onStdout: (c) => ctx.log.write(c, WORK_STDOUT),
      onStderr: (c) => ctx.log.write(c, WORK_STDERR),
      signal,
      killGraceMs: ctx.settings.killGraceMs ?? DEFAULT_STAGE_KILL_GRACE_MS,
    });
    return { ended: 'exit', exitCode: res.exitCode, ...(res.signal ? { signal: res.signal } : {}) };
  } catch (err) {
    if (signal.aborted) return { ended: which(), exitCode: null };
    throw err;
  } finally {
    dispose();
  }
}

/**
 * The one stop signal of a stage: the job's fail/lost/abort signals, its deadline, the stage timeout and (for
 * cancellable stages) the graceful cancel; `which` names the one that fired. `dispose` clears the timer.
 */
export function stageStop(ctx: Pick<JobContext, 'clock' | 'failSignal' | 'lostSignal' | 'abortSignal' | 'cancelSignal'>, stops: StageStops): { signal: AbortSignal; which: () => StageRun['ended']; dispose: () => void } {
  const timeout = new AbortController();
  const timer = stops.timeoutMs !== undefined ? ctx.clock.setTimeout(() => timeout.abort(new RunnerError('timeout', 'stage timed out')), stops.timeoutMs) : undefined;
  const linked = linkSignals(ctx.failSignal, ctx.lostSignal, ctx.abortSignal, stops.jobDeadline, timeout.signal, stops.cancellable ? ctx.cancelSignal : undefined);
  const which = (): StageRun['ended'] => {
    if (ctx.lostSignal?.aborted || ctx.failSignal?.aborted) return 'lost';
    if (ctx.abortSignal?.aborted) return 'aborted';
    if (stops.jobDeadline.aborted || timeout.signal.aborted) return 'timeout';
    return 'canceled';
  };
  return {
    signal: linked.signal,
    which,
    dispose: () => {
      timer?.clear();
      linked.dispose();
    },
  };
}
