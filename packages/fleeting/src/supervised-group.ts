import { basename } from 'node:path';
import { Backoff, RunnerError, hasCode, linkSignals, nullLogger, systemClock, toRunnerError, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import type { CallOptions, InstanceGroup } from './instance-group.js';
import { runPlugin, type RunPluginOptions, type RunningPlugin } from './run-plugin.js';
import type { ConnectInfo, DecreaseResult, IncreaseResult, InitSettings, InstanceStatus, ProviderInfo } from './types.js';

/** Options of {@link runSupervisedPlugin}: those of {@link runPlugin} (for every start) and the restart policy. */
export interface SupervisedPluginOptions extends RunPluginOptions {
  /** Restart timers and uptime; default the wall clock. */
  clock?: Clock;
  /** Wait before the first restart, doubling per failed attempt, ms; default 1000. */
  restartBaseMs?: number;
  /** Longest wait between restart attempts, ms; default 60000. */
  restartMaxMs?: number;
  /** A process that ran this long before it died starts the back-off afresh, ms; default 60000. */
  stableAfterMs?: number;
  /** Deadline of the Init a restarted process gets, ms; default 60000. */
  initTimeoutMs?: number;
}

/** `running`: calls go to the plugin process; `restarting`: it died, calls fail with `plugin_restarting`. */
export type SupervisorState = 'running' | 'restarting' | 'stopping' | 'stopped';

/**
 * An InstanceGroup over a plugin process that is restarted when it dies. Calls go to the current process; one
 * that was in flight when it died, and every call while it is down, rejects with `plugin_restarting` (transient:
 * the instances live on, only the process that manages them is gone). The restart waits with the shared
 * {@link Backoff} (1 s doubling to 1 min, reset once a process stayed up for `stableAfterMs`), starts the binary
 * again and re-runs Init with the settings the first Init got; listeners of {@link onRestart} then reconcile.
 * `stop()` clears a pending restart timer, kills a half-started process and stops the current one.
 */
export class SupervisedInstanceGroup implements InstanceGroup {
  private current: RunningPlugin | undefined;
  private stateValue: SupervisorState = 'running';
  private settings: InitSettings | undefined;
  private initLogger: Logger | undefined;
  private startedAt: number;
  private lastFailure: RunnerError | undefined;
  private timer: Timer | undefined;
  private restarting: { controller: AbortController; done: Promise<void> } | undefined;
  private stopping: Promise<void> | undefined;
  private restartCount = 0;
  private readonly listeners = new Set<(pid: number) => void>();
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** The plugin's name in logs and errors. */
  readonly name: string;

  constructor(
    private readonly path: string,
    first: RunningPlugin,
    private readonly options: SupervisedPluginOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.name = options.name ?? basename(path);
    this.logger = (options.logger ?? nullLogger).child({ plugin: this.name });
    this.backoff = new Backoff(options.restartBaseMs ?? 1000, options.restartMaxMs ?? 60_000);
    this.startedAt = this.clock.now();
    this.adopt(first);
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** The current process id; undefined while it is down. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** The current process (see RunningPlugin.process); undefined while it is down. */
  get process(): RunningPlugin['process'] {
    return this.current?.process;
  }

  /** Successful restarts so far. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Calls `listener(pid)` after each successful restart (Init done); returns the unsubscribe function. */
  onRestart(listener: (pid: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    const info = await this.forward((g) => g.init(settings, options));
    this.settings = settings;
    this.initLogger = options.logger;
    return info;
  }

  update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    return this.forward((g) => g.update(options));
  }

  increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    return this.forward((g) => g.increase(delta, options));
  }

  decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    return this.forward((g) => g.decrease(ids, options));
  }

  connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    return this.forward((g) => g.connectInfo(id, options));
  }

  heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    return this.forward((g) => g.heartbeat(id, options));
  }

  /** A process that is down holds no resources to release: then there is nothing to do. */
  async shutdown(options: CallOptions = {}): Promise<void> {
    if (this.stateValue !== 'running') return;
    await this.forward((g) => g.shutdown(options));
  }

  /** Stops supervising and the plugin, idempotently: no restart after this, no process left. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stateValue = 'stopping';
    this.timer?.clear();
    this.timer = undefined;
    const r = this.restarting;
    r?.controller.abort(new RunnerError('aborted', `stopping plugin ${this.name}`));
    await r?.done;
    const p = this.current;
    this.current = undefined;
    try {
      await p?.stop();
    } finally {
      this.stateValue = 'stopped';
    }
  }

  private async forward<T>(call: (g: InstanceGroup) => Promise<T>): Promise<T> {
    const p = this.current;
    if (!p || this.stateValue !== 'running') throw this.notRunning();
    try {
      return await call(p.group);
    } catch (err) {
      if (!hasCode(err, 'plugin_crashed')) throw err;
      this.died(p, err);
      throw this.notRunning(err);
    }
  }

  private notRunning(cause?: unknown): RunnerError {
    if (this.stateValue === 'stopping' || this.stateValue === 'stopped') {
      return new RunnerError('unavailable', `fleeting plugin ${this.name} is stopped`, { cause });
    }
    const why = this.lastFailure ? `: ${this.lastFailure.message}` : '';
    return new RunnerError('plugin_restarting', `fleeting plugin ${this.name} is not running (restarting)${why}`, {
      cause,
      details: { plugin: this.name, restarts: this.restartCount },
    });
  }

  private adopt(p: RunningPlugin): void {
    this.current = p;
    this.startedAt = this.clock.now();
    const dead = p.process?.deadSignal;
    if (!dead) return;
    if (dead.aborted) this.died(p, dead.reason);
    else dead.addEventListener('abort', () => this.died(p, dead.reason), { once: true });
  }

  /** `p` exited: unexpectedly (crash: restart it) or because it was stopped (nothing to do). */
  private died(p: RunningPlugin, reason: unknown): void {
    if (p !== this.current) return;
    this.current = undefined;
    if (this.stateValue !== 'running' || !hasCode(reason, 'plugin_crashed')) return;
    // The process is reaped already; stop() also closes what is left of the connection.
    void p.stop().catch(() => {});
    this.stateValue = 'restarting';
    this.lastFailure = toRunnerError(reason);
    if (this.clock.now() - this.startedAt >= (this.options.stableAfterMs ?? 60_000)) this.backoff.succeed();
    this.schedule();
  }

  private schedule(): void {
    const wait = this.backoff.fail(this.clock.now());
    this.logger.warn('restarting plugin', { attempt: this.backoff.failures, inMs: wait, after: this.lastFailure?.message });
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      const controller = new AbortController();
      const done = this.restart(controller.signal)
        .catch((err: unknown) => this.logger.error('restarting plugin failed', { err: toRunnerError(err).message }))
        .finally(() => {
          if (this.restarting?.controller === controller) this.restarting = undefined;
        });
      this.restarting = { controller, done };
    }, wait);
  }

  /** One restart attempt; schedules the next one when it fails. Never rejects. */
  private async restart(signal: AbortSignal): Promise<void> {
    if (this.stateValue !== 'restarting') return;
    const attempt = this.backoff.failures;
    let next: RunningPlugin | undefined;
    try {
      next = await runPlugin(this.path, { ...this.options, signal });
      if (this.settings) await this.initWithin(next.group, this.settings, signal);
    } catch (err) {
      await next?.stop().catch(() => {});
      if (this.stateValue !== 'restarting') return;
      this.lastFailure = toRunnerError(err);
      this.logger.error('restarting plugin failed', { attempt, err: this.lastFailure.message });
      this.schedule();
      return;
    }
    if (this.stateValue !== 'restarting') {
      await next.stop().catch(() => {});
      return;
    }
    this.stateValue = 'running';
    this.restartCount++;
    this.adopt(next);
    if (this.current !== next) return;
    this.logger.info('plugin restarted', { pid: next.pid, attempt, restarts: this.restartCount });
    for (const listener of this.listeners) {
      try {
        listener(next.pid ?? -1);
      } catch (err) {
        this.logger.error('plugin restart listener threw', { err: toRunnerError(err).message });
      }
    }
  }

  private async initWithin(group: InstanceGroup, settings: InitSettings, signal: AbortSignal): Promise<void> {
    const ms = this.options.initTimeoutMs ?? 60_000;
    const deadline = new AbortController();
    const timer = this.clock.setTimeout(() => deadline.abort(new RunnerError('timeout', `initialising the restarted plugin: no answer within ${ms} ms`)), ms);
    const link = linkSignals(signal, deadline.signal);
    try {
      await group.init(settings, { signal: link.signal, ...(this.initLogger ? { logger: this.initLogger } : {}) });
    } finally {
      timer.clear();
      link.dispose();
    }
  }
}

/**
 * Runs a plugin binary like {@link runPlugin} (the first start must succeed) under a {@link SupervisedInstanceGroup}:
 * `group` survives the process, `pid` and `process` follow the current one, `stop()` ends supervision and process.
 */
export async function runSupervisedPlugin(path: string, options: SupervisedPluginOptions = {}): Promise<RunningPlugin & { group: SupervisedInstanceGroup }> {
  const group = new SupervisedInstanceGroup(path, await runPlugin(path, options), options);
  return {
    group,
    get pid() {
      return group.pid;
    },
    get process() {
      return group.process;
    },
    stop: () => group.stop(),
  };
}
