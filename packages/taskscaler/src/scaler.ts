import { setMaxListeners } from 'node:events';
import { RunnerError, raceAbort, toRunnerError, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import type { InstanceGroup, ProviderInfo } from '@fleetrunner/fleeting';
import { Acquisitions } from './acquisitions.js';
import type { ResolvedConfig } from './config.js';
import { pluginCall, type Context } from './context.js';
import { formatDuration, notRunning } from './errors.js';
import { Fleet } from './fleet.js';
import { Lifecycle } from './lifecycle.js';
import { Persister } from './persister.js';
import { PluginHealth } from './plugin-health.js';
import { plan, type Plan } from './planner.js';
import { PolicySchedule, compilePolicies, type ActivePolicy, type PolicyConfig } from './policy.js';
import { runShutdown } from './shutdown.js';
import { buildStats, instanceRows, snapshotState } from './stats-view.js';
import { Histogram, newCounters, type DecisionCore, type InstanceInfo, type ScalingDecision, type TaskscalerStats } from './stats.js';
import type { SavedState, StateStore } from './state-store.js';
import type { Acquisition, Taskscaler, TaskscalerHooks, TaskscalerState } from './taskscaler.js';
import { TokenBucket } from './throttle.js';

/**
 * The first follow-up `update` after the one made right after an `increase` or `decrease` returns (ms); each next
 * one waits twice as long, until the configured interval is reached (README "Passes and cadence").
 */
export const FOLLOW_UP_FIRST_MS = 10;

/** The Taskscaler implementation: wiring, the scaling passes and their schedule. See README "How it runs". */
export class Scaler implements Taskscaler {
  state: TaskscalerState = 'running';
  readonly ctx: Context;
  readonly lifecycle: Lifecycle;
  readonly acquisitions: Acquisitions;
  private readonly lifetime = new AbortController();
  private readonly bucket: TokenBucket;
  private readonly tracked = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private actQueued: Promise<void> | undefined;
  private cycleQueued: Promise<void> | undefined;
  /** Wait after the last cycle while following up a change (Infinity: the configured interval). */
  private followGap = Infinity;
  /** The wait after the next cycle. */
  private followNext = Infinity;
  private timer: Timer | undefined;
  private timerAt = Number.NaN;
  private lastCycleAt: number;
  /** Earliest time an act pass has something to do (idle expiry, throttle refill, back-off end). */
  private wakeAt = Infinity;
  /** A throttled scale-up is retried then, not sooner (see throttleWait). */
  private throttleRetryAt = Number.NEGATIVE_INFINITY;
  private lastDecision: ScalingDecision | undefined;
  private lastIdleReason = '';
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    group: InstanceGroup,
    readonly config: ResolvedConfig,
    deps: { clock: Clock; logger: Logger; hooks: TaskscalerHooks; store: StateStore | undefined },
    readonly providerInfo: ProviderInfo,
    saved: SavedState | undefined,
  ) {
    const fleet = new Fleet(config.capacityPerInstance, config.maxUseCount, deps.store?.saveSerialized !== undefined);
    const limits = [config.maxInstances, providerInfo.maxSize].filter((n) => n > 0);
    const persister = new Persister(
      deps.store,
      () => this.snapshot(),
      (err) => deps.logger.error('saving taskscaler state failed', { err: toRunnerError(err).message, location: deps.store?.location }),
      deps.clock,
      config.stateStorage.minSaveIntervalMs,
      () => ({ savedAt: this.ctx.clock.now(), instances: fleet.image.render((r) => this.acquisitions.saved(r)) }),
    );
    fleet.onDirty = () => persister.markDirty();
    this.ctx = {
      group,
      clock: deps.clock,
      logger: deps.logger,
      config,
      hooks: deps.hooks,
      fleet,
      schedule: new PolicySchedule(config.policies),
      counters: newCounters(),
      histograms: {
        creationSeconds: new Histogram(config.histogramBuckets.creationSeconds),
        isRunningSeconds: new Histogram(config.histogramBuckets.isRunningSeconds),
        readinessSeconds: new Histogram(config.histogramBuckets.readinessSeconds),
        deletionSeconds: new Histogram(config.histogramBuckets.deletionSeconds),
        lifeSeconds: new Histogram(config.histogramBuckets.lifeSeconds),
      },
      persister,
      plugin: new PluginHealth(deps.logger, () => this.ctx.kick()),
      lifetime: this.lifetime.signal,
      limit: limits.length > 0 ? Math.min(...limits) : Infinity,
      kick: () => {
        if (this.state === 'running') void this.enqueue('act');
      },
      slotsChanged: () => this.slotsChanged(),
      track: (p) => this.track(p),
      decide: (d) => this.decide(d),
    };
    // One listener per in-flight plugin call or hook: many at once is normal here.
    setMaxListeners(0, this.lifetime.signal);
    this.bucket = new TokenBucket(config.throttleLimit, config.throttleBurst, deps.clock.now());
    this.lifecycle = new Lifecycle(this.ctx, saved, () => this.state === 'running');
    this.acquisitions = new Acquisitions(this.ctx, this.lifecycle);
    this.lifecycle.acquisitions = this.acquisitions;
    this.lastCycleAt = deps.clock.now();
  }

  /** First update (must succeed: it decides what is re-adopted), then the first scaling pass. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    const { ctx } = this;
    ctx.counters.updates++;
    const statuses = await pluginCall(ctx, this.config.pluginCallTimeoutMs, 'updating instances', [signal, this.lifetime.signal], (s) =>
      ctx.group.update({ signal: s }),
    );
    this.lastCycleAt = ctx.clock.now();
    this.lifecycle.reconcile(statuses);
    await this.enqueue('act');
  }

  hasCapability(name: string): boolean {
    return this.providerInfo.capabilities.includes(name);
  }

  configureSchedule(policies: readonly PolicyConfig[]): void {
    this.ctx.schedule.replace(compilePolicies(policies));
    this.ctx.logger.info('policies configured', { policies: policies.length });
    this.ctx.kick();
  }

  reserve(key: string): void {
    this.acquisitions.reserve(key);
  }

  unreserve(key: string): boolean {
    return this.acquisitions.unreserve(key);
  }

  acquire(key: string, options: { signal?: AbortSignal } = {}): Promise<Acquisition> {
    if (this.state !== 'running') return Promise.reject(notRunning());
    return this.acquisitions.acquire(key, options.signal);
  }

  release(key: string): boolean {
    return this.acquisitions.release(key);
  }

  tick(): Promise<void> {
    if (this.state !== 'running') return Promise.reject(notRunning());
    return this.enqueue('cycle');
  }

  instancesChanged(): void {
    this.followUp();
  }

  /** The group changed or is changing: update right away, then again after 10, 20, 40… ms up to the interval. */
  private followUp(): void {
    if (this.state !== 'running') return;
    this.followNext = FOLLOW_UP_FIRST_MS;
    void this.enqueue('cycle');
  }

  shutdown(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.shutdownPromise ??= this.stop(options.signal);
    return this.shutdownPromise;
  }

  private async stop(signal: AbortSignal | undefined): Promise<void> {
    this.state = 'stopping';
    this.timer?.clear();
    this.timer = undefined;
    this.acquisitions.rejectAll(notRunning());
    this.lifetime.abort(new RunnerError('aborted', 'taskscaler shutting down'));
    try {
      // Hooks get the aborted lifetime signal; one that ignores it cannot hold shutdown past the caller's signal.
      await raceAbort(this.chain, signal);
      while (this.tracked.size > 0) await raceAbort(Promise.all([...this.tracked]), signal);
    } catch (err) {
      this.ctx.logger.warn('shutdown: stopped waiting for background work', { err: toRunnerError(err).message });
    }
    try {
      await runShutdown(this.ctx, this.lifecycle, signal);
    } finally {
      this.state = 'stopped';
    }
  }

  private slotsChanged(): void {
    if (this.state !== 'running' || this.actQueued) return;
    const { fleet, clock, schedule } = this.ctx;
    const policy = schedule.active(clock.now());
    const p = this.plan(policy);
    if (p.scaleUp > 0) {
      this.ctx.kick();
      return;
    }
    const oldest = fleet.index.idle.tail;
    if (p.surplus > 0 && oldest && !(this.timerAt <= oldest.idleSince + policy.idleTimeMs)) this.ctx.kick();
  }

  private track(p: Promise<void>): void {
    const q = p.catch((err: unknown) => this.ctx.logger.error('background task failed', { err: toRunnerError(err).message }));
    this.tracked.add(q);
    void q.finally(() => this.tracked.delete(q));
  }

  /** Queues a pass: `cycle` = plugin update, then act; `act` = scale from what is known (both coalesced). */
  private enqueue(kind: 'cycle' | 'act'): Promise<void> {
    if (kind === 'act' && this.actQueued) return this.actQueued;
    if (kind === 'cycle' && this.cycleQueued) return this.cycleQueued;
    const run = this.chain.then(async () => {
      if (kind === 'act') this.actQueued = undefined;
      else this.cycleQueued = undefined;
      if (this.state !== 'running') return;
      try {
        if (kind === 'cycle') await this.cycle();
        else await this.act();
      } catch (err) {
        this.ctx.logger.error('scaling pass failed', { err: toRunnerError(err).message });
      } finally {
        this.scheduleNext();
      }
    });
    this.chain = run;
    if (kind === 'act') this.actQueued = run;
    else this.cycleQueued = run;
    return run;
  }

  private async cycle(): Promise<void> {
    const { ctx } = this;
    this.lastCycleAt = ctx.clock.now();
    this.followGap = this.followNext;
    this.followNext *= 2;
    ctx.counters.updates++;
    try {
      const statuses = await pluginCall(ctx, this.config.pluginCallTimeoutMs, 'updating instances', [this.lifetime.signal], (s) =>
        ctx.group.update({ signal: s }),
      );
      if (this.state !== 'running') return;
      this.lifecycle.reconcile(statuses);
    } catch (err) {
      if (this.state !== 'running') return;
      ctx.counters.missedUpdates++;
      // A plugin being restarted was logged once by ctx.plugin; each missed update of it is routine.
      ctx.logger.log(ctx.plugin.down ? 'debug' : 'warn', 'updating instances failed', { err: toRunnerError(err).message });
    }
    this.lifecycle.heartbeats();
    await this.act();
  }

  private plan(policy: ActivePolicy): Plan {
    const { fleet } = this.ctx;
    const c = fleet.counts;
    return plan({
      policy,
      perInstance: fleet.perInstance,
      acquired: fleet.acquired,
      pending: this.acquisitions.pending,
      reserved: this.acquisitions.reserved,
      reservationThrottling: this.config.reservationThrottling,
      freeReady: fleet.index.freeSlots,
      onTheWay: fleet.requested + c.creating + c.readying,
      total: fleet.total,
      limit: this.ctx.limit,
    });
  }

  /** One scaling pass over known state: idle expiry, scale-up, pending deletions. */
  private async act(): Promise<void> {
    const { fleet, clock, config, counters, logger } = this.ctx;
    // The plugin is back after a restart: the slots that waited for it go out now, after the update that saw it.
    if (this.ctx.plugin.takeRecovered()) this.acquisitions.serve();
    const now = clock.now();
    const expired = fleet.expireRequests(now, config.requestTimeoutMs);
    if (expired > 0) {
      counters.requestsExpired += expired;
      logger.warn('requested instances never showed up; forgetting them', { count: expired });
    }
    const policy = this.ctx.schedule.active(now);
    const p = this.plan(policy);
    this.wakeAt = Infinity;
    this.expireIdle(p, policy, now);
    if (p.scaleUp > 0) await this.scaleUp(p, now);
    else this.decideIdle(p.reason === 'limit' ? 'limit' : 'steady', p.reason === 'limit' ? `want ${p.wantUp} more instance(s) but the limit of ${this.ctx.limit} is reached` : 'capacity matches the policy');
    if ((await this.lifecycle.issueDecreases(this.lifetime.signal)) > 0) this.followUp();
  }

  private expireIdle(p: Plan, policy: ActivePolicy, now: number): void {
    const { fleet } = this.ctx;
    let surplus = p.surplus;
    let r = fleet.index.idle.tail;
    while (r && surplus > 0) {
      const prev = r.prev;
      const due = r.idleSince + policy.idleTimeMs;
      if (due > now) {
        this.wakeAt = Math.min(this.wakeAt, due);
        break;
      }
      const usable = fleet.usable(r);
      if (usable > surplus) {
        // Without max_use_count every idle instance brings the same slots: none further fits either.
        if (fleet.maxUseCount === 0) break;
        r = prev;
        continue;
      }
      surplus -= usable;
      this.lifecycle.markRemoving(r, 'idle', `removing instance ${r.id}: idle for ${formatDuration(now - r.idleSince)} (idle_time ${formatDuration(policy.idleTimeMs)}); ${p.supply} slots free or coming, ${p.need} needed`);
      r = prev;
    }
  }

  private async scaleUp(p: Plan, now: number): Promise<void> {
    const { fleet, counters, logger, group, plugin } = this.ctx;
    if (plugin.down) {
      // Retried by the next update cycle (or at once when the restarted plugin is reconciled).
      this.decideIdle('backoff', `want ${p.scaleUp} more instance(s); ${plugin.down.message}`);
      return;
    }
    const backoff = this.lifecycle.backoff.remaining(now);
    if (backoff > 0) {
      this.wakeAt = Math.min(this.wakeAt, now + backoff);
      this.decideIdle('backoff', `want ${p.scaleUp} more instance(s); backing off ${formatDuration(backoff)} after failures`);
      return;
    }
    // A throttled remainder waits for its retry time, whatever passes come earlier, so that tokens batch up.
    const n = now < this.throttleRetryAt ? 0 : this.bucket.take(p.scaleUp, now);
    if (n === 0) {
      if (!(now < this.throttleRetryAt)) this.throttleRetryAt = now + this.throttleWait(now);
      this.wakeAt = Math.min(this.wakeAt, this.throttleRetryAt);
      this.decideIdle('throttle', `want ${p.scaleUp} more instance(s); scale_throttle has no token`);
      return;
    }
    if (n < p.scaleUp) {
      this.throttleRetryAt = now + this.throttleWait(now);
      this.wakeAt = Math.min(this.wakeAt, this.throttleRetryAt);
    }
    fleet.request(n, now);
    const held = n < p.wantUp ? ` (wanted ${p.wantUp}; ${n < p.scaleUp ? 'throttled' : 'limit reached'})` : '';
    const why = p.reason === 'demand' ? `${this.acquisitions.pending} acquire(s) waiting` : `keeping ${p.idleTarget} idle slot(s)`;
    this.decide({ action: 'up', count: n, reason: p.reason === 'demand' ? 'demand' : 'idle_target', detail: `requesting ${n} instance(s)${held}: ${why}` });
    counters.increaseCalls++;
    let succeeded = 0;
    let error: Error | undefined;
    try {
      // Not cut short by shutdown: instances the cloud already accepted must be known, or they would leak.
      const res = await pluginCall(this.ctx, this.config.pluginCallTimeoutMs, 'creating instances', [], (s) => group.increase(n, { signal: s }));
      succeeded = Math.max(0, Math.min(n, res.succeeded));
      error = res.error;
    } catch (err) {
      error = toRunnerError(err);
    }
    counters.instancesRequested += succeeded;
    if (succeeded > 0) this.followUp();
    if (succeeded < n) {
      fleet.unrequest(n - succeeded);
      counters.instancesRequestFailed += n - succeeded;
      if (plugin.failed(error)) {
        // Not the cloud refusing: the plugin process died. Instances it created anyway show up in the next update.
        logger.warn('creating instances: the plugin is restarting; scale-up resumes when it is back', { asked: n, succeeded, err: error?.message });
        return;
      }
      const wait = this.lifecycle.backoff.fail(this.ctx.clock.now());
      this.wakeAt = Math.min(this.wakeAt, this.ctx.clock.now() + wait);
      logger.warn('plugin created fewer instances than asked', { asked: n, succeeded, err: error?.message, backoffMs: wait });
    }
  }

  /** Throttled scale-up is retried once a token is back, but at most once a second, so that tokens batch up. */
  private throttleWait(now: number): number {
    return Math.max(1_000, this.bucket.msUntilToken(now));
  }

  /** Logs a no-action decision once per change of reason, so steady state stays quiet. */
  private decideIdle(reason: 'limit' | 'throttle' | 'backoff' | 'steady', detail: string): void {
    const sig = `${reason}:${detail}`;
    if (sig === this.lastIdleReason) return;
    this.lastIdleReason = sig;
    this.decide({ action: 'none', count: 0, reason, detail });
  }

  private decide(core: DecisionCore): void {
    const { fleet, clock, logger, hooks } = this.ctx;
    if (core.action !== 'none') this.lastIdleReason = '';
    const now = clock.now();
    const policy = this.ctx.schedule.active(now);
    const p = this.plan(policy);
    const d: ScalingDecision = {
      ...core,
      at: now,
      policy: policy.index,
      acquired: fleet.acquired,
      pending: this.acquisitions.pending,
      reserved: this.acquisitions.reserved,
      idleTarget: p.idleTarget,
      supply: p.supply,
      desired: Math.min(this.ctx.limit, fleet.total + p.scaleUp),
      instances: fleet.total,
      limit: Number.isFinite(this.ctx.limit) ? this.ctx.limit : 0,
    };
    this.lastDecision = d;
    const { detail, ...fields } = d;
    logger.log(core.action === 'none' ? 'debug' : 'info', `scaling: ${detail}`, fields);
    try {
      hooks.onDecision?.(d);
    } catch (err) {
      logger.error('onDecision hook threw', { err: toRunnerError(err).message });
    }
  }

  /**
   * The next cycle: `update_interval`, or `update_interval_when_expecting` while something is on its way or an
   * acquire waits; sooner while following up a change (10, 20, 40… ms after an increase or decrease, until the
   * interval is reached). An act pass comes sooner when an idle expiry, throttle token or back-off end is due.
   */
  private scheduleNext(): void {
    if (this.state !== 'running') return;
    const { fleet, clock, config } = this.ctx;
    const c = fleet.counts;
    const expecting = fleet.requested + c.creating + c.readying + c.removing + c.deleting > 0 || this.acquisitions.waiting > 0;
    const interval = expecting ? config.updateIntervalWhenExpectingMs : config.updateIntervalMs;
    // Nothing on its way, or the follow-ups have reached the interval: back to the configured cadence.
    // (A follow-up asked for but not yet run keeps `followNext`.)
    if (!expecting || (Number.isFinite(this.followGap) && this.followGap >= interval)) this.followGap = this.followNext = Infinity;
    const cycleAt = this.lastCycleAt + Math.min(interval, this.followGap);
    const at = Math.min(cycleAt, this.wakeAt);
    if (this.timer && this.timerAt === at) return;
    this.timer?.clear();
    this.timerAt = at;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.NaN;
      void this.enqueue(clock.now() >= cycleAt ? 'cycle' : 'act');
    }, Math.max(0, at - clock.now()));
  }

  stats(): TaskscalerStats {
    return buildStats(this);
  }

  instances(): InstanceInfo[] {
    return instanceRows(this.ctx.fleet);
  }

  /** The decision made last (stats). */
  get latestDecision(): ScalingDecision | undefined {
    return this.lastDecision;
  }

  /** Desired instances right now. */
  desiredInstances(): number {
    const p = this.plan(this.ctx.schedule.active(this.ctx.clock.now()));
    return Math.min(this.ctx.limit, this.ctx.fleet.total + p.scaleUp);
  }

  private snapshot(): SavedState {
    return snapshotState(this.ctx.fleet, this.acquisitions, this.ctx.clock.now());
  }
}
