import { AsyncLocalStorage } from 'node:async_hooks';
import { RunnerError, toRunnerError, type Logger } from '@fleetrunner/common';

/** One job's scope: what the guard stops when an error escapes from the job's own code. */
export interface GuardedJob {
  readonly id: number;
  /** Fires once an escaped error was charged to this job; its reason is a RunnerError saying what escaped. */
  readonly failSignal: AbortSignal;
}

/**
 * The manager's last line of defence: an `'error'` event nobody listens to, or a rejection nobody handles, would
 * otherwise end the process and leave every running job `running` on GitLab. The guard logs it and, when it was
 * raised inside a job (found through the async context the job runs in), fails only that job as a system failure;
 * the manager and the other jobs go on. Every such event is a defect to fix where it arose: it is logged at error
 * level with its stack and counted.
 */
export class JobGuard {
  private readonly scopes = new AsyncLocalStorage<{ id: number; ctl: AbortController }>();
  private installed: (() => void) | undefined;
  /** Errors the guard caught (for tests and metrics). */
  caught = 0;

  constructor(private readonly logger: Logger) {}

  /** Registers the process-level handlers. Idempotent; {@link uninstall} removes them. */
  install(): void {
    if (this.installed) return;
    const onError = (err: unknown): void => this.handle(err, 'uncaught exception');
    const onRejection = (err: unknown): void => this.handle(err, 'unhandled rejection');
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onRejection);
    this.installed = () => {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onRejection);
    };
  }

  uninstall(): void {
    this.installed?.();
    this.installed = undefined;
  }

  /** Runs `fn` (a job, start to end) in its own scope: whatever escapes from it later is charged to job `id`. */
  run<T>(id: number, fn: (job: GuardedJob) => Promise<T>): Promise<T> {
    const ctl = new AbortController();
    return this.scopes.run({ id, ctl }, () => fn({ id, failSignal: ctl.signal }));
  }

  private handle(err: unknown, kind: string): void {
    this.caught++;
    const e = toRunnerError(err);
    const scope = this.scopes.getStore();
    const stack = err instanceof Error ? err.stack : undefined;
    if (scope) {
      this.logger.error(`${kind} in a job: failing the job`, { job: scope.id, error: e.message, ...(stack ? { stack } : {}) });
      if (!scope.ctl.signal.aborted) scope.ctl.abort(new RunnerError('internal', `the runner failed the job after an unexpected error: ${e.message}`, { cause: err }));
      return;
    }
    this.logger.error(`${kind} outside any job: the manager goes on`, { error: e.message, ...(stack ? { stack } : {}) });
  }
}
