import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { RunnerError, raceAbort, systemClock, toRunnerError, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import { diffConfig, formatDiagnostics, loadConfig, runsHere, type Diagnostic, type Env, type RunnerConfig, type RunnerEntry } from '@fleetrunner/config';
import type { RunningBuild } from './build.js';
import { FleetPool, type FleetFactory } from '@fleetrunner/executor';
import type { ManagerMetrics } from './manager-metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { JobGuard } from './job-guard.js';
import { failOrphans } from './orphans.js';
import { processRunner, type PollContext } from './process-runner.js';
import { RunnerState } from './runner-state.js';
import { runnerKey } from '@fleetrunner/gitlab';
import { loadSystemId } from './system-id.js';
import { Workers } from './workers.js';
import { TokenRotation } from './token-rotation.js';

/** Lifecycle: `running` takes jobs; `draining` (SIGQUIT) lets running jobs finish; `stopping` aborts them. */
export type ManagerState = 'starting' | 'running' | 'draining' | 'stopping' | 'stopped';

/** How the manager ended. */
export interface ManagerExit {
  /** The shutdown timeout ran out before everything stopped (jobs or autoscalers may be left). */
  timedOut: boolean;
}

/** Options of {@link Manager.start}. */
export interface ManagerOptions {
  configFile: string;
  config: RunnerConfig;
  env: Env;
  logger: Logger;
  metrics: ManagerMetrics;
  version: { version: string; revision: string };
  clock?: Clock;
  /** `--listen-address`: wins over `listen_address`. */
  listenAddress?: string;
  /** How often config.toml's mtime is checked, ms. Default 3000 (GitLab Runner's). */
  configPollMs?: number;
  /** Fleet construction per runner (tests). */
  makeFleet?: (r: RunnerState) => FleetFactory;
  /** Plugins the binary embeds, by the name `[runners.autoscaler] plugin` gives them. */
  builtinPlugins?: Readonly<Record<string, string>>;
  /** Charges errors that escape from a job to that job (`runner run` installs it process-wide). Default: not installed. */
  guard?: JobGuard;
}

/**
 * `runner run`: the multi-runner manager of spec §3.1. A feeder hands each healthy runner to one of `concurrent`
 * workers every `check_interval / len(runners)`; a worker reserves autoscaler capacity, long-polls GitLab and runs
 * the job it gets. Config changes apply live (policies included; other autoscaler keys are logged as needing a
 * restart). `drain()` stops taking jobs and waits for running ones; `stop()` aborts them (`runner_interrupted`),
 * bounded by `shutdown_timeout`. Both then stop every autoscaler and its plugin.
 */
export class Manager {
  state: ManagerState = 'starting';
  /** Resolves once everything stopped. */
  readonly done: Promise<ManagerExit>;
  /** Where `/metrics` is served (resolved port), if anywhere. */
  metricsAddress: string | undefined;
  private config: RunnerConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: ManagerMetrics;
  private readonly workers: Workers;
  private readonly fleets: FleetPool;
  private readonly runners = new Map<string, RunnerState>();
  private order: RunnerState[] = [];
  private readonly builds = new Set<RunningBuild>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly pollStop = new AbortController();
  private readonly interruptCtl = new AbortController();
  private readonly finishCtl = new AbortController();
  private systemId = '';
  private server: MetricsServer | undefined;
  private configTimer: Timer | undefined;
  private shutdownTimer: Timer | undefined;
  private configStat = { mtimeMs: 0, size: 0 };
  private feeding: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private resolveDone!: (e: ManagerExit) => void;
  private readonly poll: PollContext;
  private readonly tokenRotation: TokenRotation;

  private constructor(private readonly o: ManagerOptions) {
    this.config = o.config;
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger;
    this.metrics = o.metrics;
    this.workers = new Workers(o.config.concurrent);
    this.fleets = new FleetPool(o.logger);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.poll = {
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      fleets: this.fleets,
      ...(o.makeFleet ? { makeFleet: o.makeFleet } : {}),
      ...(o.builtinPlugins ? { builtinPlugins: o.builtinPlugins } : {}),
      systemId: '',
      version: o.version,
      managerHostname: hostname(),
      cacheRoot: join(dirname(o.configFile), '.runner_cache'),
      pollSignal: this.pollStop.signal,
      interrupt: this.interruptCtl.signal,
      finishSignal: this.finishCtl.signal,
      requeue: (r) => this.requeue(r),
      onBuildStart: (b) => this.builds.add(b),
      onBuildEnd: (b) => this.builds.delete(b),
      guard: o.guard ?? new JobGuard(o.logger),
    };
    this.tokenRotation = new TokenRotation({
      configFile: o.configFile,
      clock: this.clock,
      logger: this.logger,
      env: o.env,
      systemId: () => this.systemId,
      version: o.version,
      onRotated: () => this.reload(),
    });
  }

  /** Loads the system id, fails jobs a killed predecessor abandoned, serves metrics and starts polling. */
  static async start(o: ManagerOptions): Promise<Manager> {
    const m = new Manager(o);
    await m.init();
    return m;
  }

  private async init(): Promise<void> {
    this.systemId = await loadSystemId(this.o.configFile);
    this.poll.systemId = this.systemId;
    this.configStat = await statOf(this.o.configFile);
    this.metrics.configLoad(true);
    this.metrics.setConcurrent(this.config.concurrent, 0);
    this.applyGlobals(this.config);
    this.setRunners(this.config.runners);
    const address = this.o.listenAddress ?? this.config.listenAddress;
    if (address) {
      this.server = await startMetricsServer(address, { metrics: () => this.metrics.render(), ready: () => this.state === 'running', jobs: () => this.jobLines() });
      this.metricsAddress = this.server.address;
      this.logger.info('metrics server listening', { address: this.server.address });
    }
    this.metrics.attach({
      runners: () => this.order.map((r) => ({ labels: r.labels, adaptiveLimit: r.requests.adaptive, usedLimit: r.requests.limit })),
      builds: () => [...this.builds].map((b) => ({ labels: b.runner.labels, state: b.state, stage: b.stage, executorStage: b.state === 'preparing' ? 'prepare_executor' : b.stage })),
      fleets: () => this.fleets.started().map(([key, fleet]) => ({ labels: this.runners.get(key)?.labels ?? { runner: '', runner_name: '', system_id: this.systemId }, stats: fleet.taskscaler.stats() })),
    });
    this.state = 'running';
    this.logger.info('starting multi-runner', { config: this.o.configFile, runners: this.order.length, concurrent: this.config.concurrent, system_id: this.systemId });
    this.feeding = this.feedLoop();
    this.scheduleConfigCheck();
  }

  /** Every runner token this manager knows (for the logger's masking). */
  tokens(): string[] {
    // Skipped runners of other executors too: their tokens are secrets all the same.
    return [...new Set([...this.runners.values()].map((r) => r.entry.token).concat(this.config.runners.map((r) => r.token)))];
  }

  /** Jobs running now. */
  get runningJobs(): number {
    return this.builds.size;
  }

  /** SIGQUIT: stop requesting jobs, let running jobs finish (no timeout), then stop the autoscalers. */
  drain(): void {
    if (this.state !== 'running') return;
    this.state = 'draining';
    this.logger.info('graceful shutdown: no new jobs; waiting for running jobs to finish', { jobs: this.builds.size });
    this.stopping ??= this.shutdown();
  }

  /** SIGTERM/SIGINT: abort running jobs (they fail with `runner_interrupted`) and stop, within `shutdown_timeout`. */
  stop(): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    this.logger.warn('forced shutdown: aborting running jobs', { jobs: this.builds.size, shutdown_timeout_ms: this.config.shutdownTimeoutMs });
    this.interruptCtl.abort(new RunnerError('aborted', 'the runner is shutting down'));
    this.armShutdownTimer();
    this.stopping ??= this.shutdown();
  }

  /** SIGHUP and config.toml changes: re-reads the file and applies what can change live. */
  async reload(): Promise<void> {
    if (this.state !== 'running' && this.state !== 'draining') return;
    const res = await loadConfig(this.o.configFile, { env: this.o.env });
    if (res.errors.length > 0 || !res.config) {
      this.metrics.configLoad(false);
      this.logger.error('reloading the config failed; keeping the running config', { diagnostics: formatDiagnostics(res) });
      return;
    }
    this.metrics.configLoad(true);
    logConfigWarnings(this.logger, res.warnings);
    if (res.config.runners.length === 0 && this.config.runners.length > 0) {
      this.logger.warn('the reloaded config has no [[runners]]: every runner was removed; no jobs are taken until runners are added', { config: this.o.configFile, removed: this.config.runners.length });
    }
    const diff = diffConfig(this.config, res.config);
    if (diff.restart.length > 0) this.logger.warn('config changes that need a restart were not applied', { keys: diff.restart });
    if (diff.live.length > 0) this.logger.info('config reloaded', { changes: diff.live });
    this.config = res.config;
    this.applyGlobals(res.config);
    this.setRunners(res.config.runners);
  }

  private applyGlobals(c: RunnerConfig): void {
    const before = this.workers.limit;
    this.workers.setLimit(c.concurrent);
    this.metrics.setConcurrent(c.concurrent, before);
  }

  private setRunners(entries: readonly RunnerEntry[]): void {
    const order: RunnerState[] = [];
    // Runners of other executors in a shared config.toml are skipped (config validation warned about each).
    for (const e of entries.filter(runsHere)) {
      const key = runnerKey(e);
      let r = this.runners.get(key);
      if (r) {
        const before = JSON.stringify(r.entry.autoscaler?.policies ?? []);
        r.update(e);
        if (e.autoscaler && JSON.stringify(e.autoscaler.policies) !== before) this.fleets.configure(key, e.autoscaler.policies);
      } else {
        r = new RunnerState(e, { clock: this.clock, logger: this.logger, metrics: this.metrics, systemId: this.systemId, configDir: dirname(this.o.configFile), version: this.o.version, connectionMaxAgeMs: this.config.connectionMaxAgeMs });
        this.runners.set(key, r);
        this.track(this.failOrphansOf(r));
      }
      order.push(r);
    }
    this.order = order;
    this.tokenRotation.update(order.map((r) => r.entry));
  }

  private async failOrphansOf(r: RunnerState): Promise<void> {
    const orphans = await r.inflight.load();
    await failOrphans(r.inflight, orphans, { info: r.info, logger: r.logger, clock: this.clock, signal: this.finishCtl.signal });
  }

  private async feedLoop(): Promise<void> {
    const signal = this.pollStop.signal;
    let i = 0;
    while (!signal.aborted) {
      const runners = this.order;
      const n = Math.max(1, runners.length);
      const r = runners[i++ % n];
      if (r) await this.feed(r).catch(() => undefined);
      await this.clock.sleep(this.config.checkIntervalMs / n, { signal }).catch(() => undefined);
    }
  }

  private usable(r: RunnerState): boolean {
    const e = r.entry;
    const now = this.clock.now();
    if (e.token.trim() === '') return false;
    // Back-off first: an unhealthy runner's probe is only spent when a request may go out.
    if (r.backoff.remaining(now) > 0) return false;
    return r.health.admit(now, e.unhealthyIntervalMs);
  }

  private async feed(r: RunnerState): Promise<void> {
    if (!this.usable(r)) {
      this.metrics.workerFed(r.labels, false);
      return;
    }
    await this.workers.acquire(this.pollStop.signal);
    this.metrics.workerFed(r.labels, true);
    this.work(r);
  }

  private requeue(r: RunnerState): void {
    if (this.pollStop.signal.aborted || !this.usable(r) || !this.workers.tryAcquire()) return;
    this.metrics.workerFed(r.labels, true);
    this.work(r);
  }

  /** Runs one worker pick; the caller holds a worker slot, released here. */
  private work(r: RunnerState): void {
    processRunner(this.poll, r)
      .catch((err: unknown) => r.logger.error('worker failed', { error: toRunnerError(err).message }))
      .finally(() => this.workers.release());
  }

  private scheduleConfigCheck(): void {
    this.configTimer = this.clock.setTimeout(() => {
      this.configTimer = undefined;
      this.track(
        (async () => {
          const now = await statOf(this.o.configFile);
          if (now.mtimeMs !== this.configStat.mtimeMs || now.size !== this.configStat.size) {
            this.configStat = now;
            this.logger.info('config file changed; reloading');
            await this.reload();
          }
        })()
          .catch((err: unknown) => this.logger.warn('checking the config file', { error: toRunnerError(err).message }))
          .finally(() => {
            if (this.state === 'running' || this.state === 'draining') this.scheduleConfigCheck();
          }),
      );
    }, this.o.configPollMs ?? 3000);
  }

  private armShutdownTimer(): void {
    if (this.shutdownTimer) return;
    this.shutdownTimer = this.clock.setTimeout(() => {
      this.logger.warn('shutdown timeout reached', { jobs: this.builds.size });
      this.finishCtl.abort(new RunnerError('timeout', 'shutdown_timeout reached'));
    }, this.config.shutdownTimeoutMs);
  }

  private async shutdown(): Promise<void> {
    this.pollStop.abort(new RunnerError('aborted', 'the manager stops taking jobs'));
    this.configTimer?.clear();
    this.configTimer = undefined;
    await this.tokenRotation.stop();
    await this.feeding;
    await raceAbort(this.workers.idle(), this.finishCtl.signal).catch(() => undefined);
    this.armShutdownTimer();
    this.logger.info('stopping autoscalers', { count: this.fleets.started().length });
    await this.fleets.shutdown(this.finishCtl.signal);
    await raceAbort(Promise.allSettled([...this.background]), this.finishCtl.signal).catch(() => undefined);
    await this.server?.close();
    const timedOut = this.finishCtl.signal.aborted;
    this.shutdownTimer?.clear();
    this.state = 'stopped';
    this.logger.info('manager stopped', { timedOut });
    this.resolveDone({ timedOut });
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((err: unknown) => this.logger.warn('background task failed', { error: toRunnerError(err).message })).finally(() => this.background.delete(q));
    this.background.add(q);
  }

  private jobLines(): string[] {
    const now = this.clock.now();
    return [...this.builds].map((b) => `url=${b.url} state=${b.state} stage=${b.stage || '-'} runner=${b.runner.short} duration=${((now - b.startedAt) / 1000).toFixed(1)}s`);
  }
}

/** Logs the warnings of a config load, one line each, as `runner config validate` prints them (start and reload). */
export function logConfigWarnings(logger: Logger, warnings: readonly Diagnostic[]): void {
  for (const w of warnings) logger.warn('config', { diagnostic: `${w.file}:${w.line}: ${w.path ? `${w.path}: ` : ''}${w.message}` });
}

async function statOf(file: string): Promise<{ mtimeMs: number; size: number }> {
  try {
    const s = await stat(file);
    return { mtimeMs: s.mtimeMs, size: s.size };
  } catch {
    return { mtimeMs: 0, size: 0 };
  }
}
