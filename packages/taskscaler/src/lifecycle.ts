import { Backoff, Limiter, toRunnerError } from '@fleetrunner/common';
import type { ConnectInfo, InstanceState, InstanceStatus } from '@fleetrunner/fleeting';
import type { Acquisitions, SlotSupport } from './acquisitions.js';
import { pluginCall, type Context } from './context.js';
import { instanceLost } from './errors.js';
import type { InstanceRecord, RemovalReason } from './instance.js';
import type { SavedInstance, SavedState } from './state-store.js';
import type { HookInstance } from './taskscaler.js';

/** Connect info this close to expiry (ms) is fetched again before a slot is handed out. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * Instance lifecycle: matches `update` results with known instances, adopts new ones, runs readiness and
 * heartbeats, counts health failures, and removes instances (with `decrease` retries).
 */
export class Lifecycle implements SlotSupport {
  acquisitions!: Acquisitions;
  readonly backoff = new Backoff();
  private stamp = 0;
  private first = true;
  /** The previous `update` answer by position: ids and their records (undefined: a `deleted` unknown one). */
  private readonly lastIds: string[] = [];
  private readonly lastRecords: (InstanceRecord | undefined)[] = [];
  private saved: Map<string, SavedInstance> | undefined;
  private readonly readyLimiter: Limiter;
  private readonly heartbeatLimiter: Limiter;

  constructor(
    private readonly ctx: Context,
    saved: SavedState | undefined,
    private readonly isRunning: () => boolean,
  ) {
    this.saved = saved ? new Map(saved.instances.map((s) => [s.id, s])) : undefined;
    this.readyLimiter = new Limiter(ctx.config.hookConcurrency);
    this.heartbeatLimiter = new Limiter(ctx.config.hookConcurrency);
  }

  running(): boolean {
    return this.isRunning();
  }

  describe(): string {
    const { fleet, limit } = this.ctx;
    const c = fleet.counts;
    const starting = fleet.requested + c.creating + c.readying;
    const down = this.ctx.plugin.down;
    return `${down ? `${down.message}; ` : ''}instances: ${c.ready} ready, ${starting} starting, ${c.draining + c.unhealthy} draining, ${c.removing + c.deleting} being removed; limit ${Number.isFinite(limit) ? limit : 'none'}`;
  }

  /**
   * Applies one `update` answer. The first one after start decides which instances are re-adopted. Work is
   * done only for what changed: an instance whose plugin state is the one already known costs a comparison,
   * and the known instances are visited for disappearances only when fewer of them were listed than are known.
   * Plugins list their instances in a stable order, so the instance at each position is first looked for where
   * the previous answer had it (no hash lookup); any other order still works, through the id map.
   */
  reconcile(statuses: readonly InstanceStatus[]): void {
    const { fleet } = this.ctx;
    const stamp = ++this.stamp;
    const first = this.first;
    this.first = false;
    const { lastIds, lastRecords } = this;
    const known = lastIds.length;
    /** Known instances listed (each once), still known after their status was applied. */
    let listed = 0;
    const n = statuses.length;
    for (let i = 0; i < n; i++) {
      const s = statuses[i]!;
      let r: InstanceRecord | undefined;
      if (i < known && lastIds[i] === s.id) {
        r = lastRecords[i];
        // Dropped since (and perhaps found again under the same id): the map knows.
        if (r === undefined || r.gone) r = fleet.byId.get(s.id);
      } else {
        r = fleet.byId.get(s.id);
      }
      if (r) {
        if (r.seen !== stamp) {
          r.seen = stamp;
          listed++;
        }
        // `creating` with the plugin saying running: readiness was cut short by a plugin restart; it runs again.
        if (r.pluginState !== s.state || r.state === 'creating') {
          this.apply(r, s.state);
          if (r.gone) listed--;
        }
      } else if (s.state !== 'deleted') {
        r = this.adopt(s, first);
        r.seen = stamp;
        listed++;
      }
      const id = r?.id ?? s.id;
      if (i >= known || lastIds[i] !== id) lastIds[i] = id;
      if (i >= known || lastRecords[i] !== r) lastRecords[i] = r;
    }
    if (known > n) {
      lastIds.length = n;
      lastRecords.length = n;
    }
    if (listed < fleet.byId.size) for (const r of fleet.byId.values()) if (r.seen !== stamp) this.gone(r);
    if (first && this.saved) {
      for (const id of this.saved.keys()) {
        if (!fleet.byId.has(id)) this.ctx.logger.info('saved instance no longer exists; forgetting it', { instance: id });
      }
      this.saved = undefined;
    }
    // The first update decides the fleet: save it even when every instance was re-adopted unchanged.
    if (first) this.ctx.persister.markDirty();
  }

  private adopt(s: InstanceStatus, first: boolean): InstanceRecord {
    const { fleet, clock, logger, config } = this.ctx;
    const now = clock.now();
    const saved = first ? this.saved?.get(s.id) : undefined;
    const requestedAt = first ? undefined : fleet.fulfil();
    const cause = first ? (saved ? 'restored' : 'preexisting') : requestedAt !== undefined ? 'requested' : 'appeared';
    const r = fleet.add(s.id, cause, saved?.createdAt ?? requestedAt ?? now);
    logger.debug('instance found', { instance: r.id, cause, pluginState: s.state });
    if (saved) {
      // Jobs cannot be resumed: their acquisitions end now and count as uses.
      r.useCount = saved.useCount + saved.acquisitions.length;
      r.readyAt = saved.readyAt;
      if (saved.acquisitions.length > 0) {
        logger.warn('restored instance had acquisitions; they are released', { instance: r.id, keys: saved.acquisitions.map((a) => a.key) });
      }
    }
    let removal: RemovalReason | undefined;
    if (cause === 'preexisting') removal = 'preexisting';
    else if (saved?.removing) removal = saved.removing;
    else if (saved && saved.acquisitions.length > 0 && !config.stateStorage.keepInstanceWithAcquisitions) removal = 'restored_with_acquisitions';
    else if (config.maxUseCount > 0 && r.useCount >= config.maxUseCount) removal = 'max_use_count';
    if (removal) {
      r.pluginState = s.state;
      if (s.state === 'deleting') {
        r.removal = { reason: removal, since: now, attemptAt: now };
        fleet.setState(r, 'deleting');
        fleet.changed(r);
      } else {
        this.markRemoving(r, removal, `removing ${cause} instance ${r.id}: ${removal}`);
      }
      return r;
    }
    this.apply(r, s.state);
    return r;
  }

  private apply(r: InstanceRecord, state: InstanceState): void {
    const { fleet, clock, counters, logger, histograms } = this.ctx;
    r.pluginState = state;
    switch (state) {
      case 'creating':
        return;
      case 'running':
        if (r.state !== 'creating') return;
        if (r.cause === 'requested') {
          const seconds = (clock.now() - r.createdAt) / 1000;
          histograms.creationSeconds.observe(seconds);
          histograms.isRunningSeconds.observe(seconds);
        }
        this.startReadiness(r);
        return;
      case 'deleting':
        if (r.state === 'deleting') return;
        if (r.state !== 'removing') {
          counters.unexpectedRemovals++;
          logger.warn('instance is being deleted outside the taskscaler', { instance: r.id });
          const holders = fleet.evict(r);
          for (const h of holders) h.lose(instanceLost(r.id, 'is being deleted outside the taskscaler'));
          r.removal = { reason: 'broken', since: clock.now(), attemptAt: clock.now() };
          fleet.changed(r);
        }
        fleet.setState(r, 'deleting');
        return;
      case 'deleted':
        this.gone(r);
        return;
      case 'timeout':
        if (r.state === 'removing' || r.state === 'deleting' || r.state === 'unhealthy') return;
        logger.warn('plugin reports the instance broken (timeout)', { instance: r.id });
        this.markUnhealthy(r, 'broken');
        return;
    }
  }

  /** `r` is no longer in the group. */
  private gone(r: InstanceRecord): void {
    const { fleet, clock, counters, logger, histograms } = this.ctx;
    const now = clock.now();
    if (r.removal && (r.state === 'removing' || r.state === 'deleting')) {
      histograms.deletionSeconds.observe((now - r.removal.since) / 1000);
      logger.info('instance deleted', { instance: r.id, reason: r.removal.reason });
    } else {
      counters.unexpectedRemovals++;
      logger.warn('instance unexpectedly removed', { instance: r.id, state: r.state, acquisitions: r.acquired });
    }
    histograms.lifeSeconds.observe((now - r.createdAt) / 1000);
    const holders = fleet.evict(r);
    fleet.drop(r);
    for (const h of holders) h.lose(instanceLost(r.id, 'was removed unexpectedly'));
    this.ctx.kick();
  }

  private startReadiness(r: InstanceRecord): void {
    this.ctx.fleet.setState(r, 'readying');
    this.ctx.track(this.readyLimiter.run(() => this.readiness(r)));
  }

  private async readiness(r: InstanceRecord): Promise<void> {
    const { ctx } = this;
    const signal = ctx.lifetime;
    if (signal.aborted || r.state !== 'readying') return;
    try {
      const info = await this.fetchConnectInfo(r, undefined);
      await ctx.hooks.instanceReady?.(this.hookInstance(r, info), { signal });
    } catch (err) {
      if (signal.aborted || r.gone || r.state !== 'readying') return;
      if (ctx.plugin.failed(err)) {
        // Not the instance's fault: readiness runs again once an update shows it running on the restarted plugin.
        ctx.fleet.setState(r, 'creating');
        return;
      }
      ctx.counters.readyFailures++;
      const wait = this.backoff.fail(ctx.clock.now());
      ctx.logger.warn('instance failed its readiness check; removing it', { instance: r.id, err: toRunnerError(err).message, backoffMs: wait });
      this.markRemoving(r, 'ready_failed', `removing instance ${r.id}: readiness failed: ${toRunnerError(err).message}`);
      return;
    }
    if (r.gone || r.state !== 'readying') return;
    const now = ctx.clock.now();
    if (r.cause !== 'restored') {
      r.readyAt = now;
      ctx.histograms.readinessSeconds.observe((now - r.createdAt) / 1000);
    }
    r.idleSince = now;
    r.lastHeartbeatAt = now;
    this.backoff.succeed();
    ctx.fleet.setState(r, 'ready');
    ctx.logger.info('instance ready', { instance: r.id, cause: r.cause });
    ctx.fleet.changed(r);
    this.acquisitions.serve();
    ctx.kick();
  }

  private hookInstance(r: InstanceRecord, connectInfo: ConnectInfo): HookInstance {
    return { id: r.id, connectInfo, restored: r.cause === 'restored' };
  }

  private async fetchConnectInfo(r: InstanceRecord, signal: AbortSignal | undefined): Promise<ConnectInfo> {
    const { ctx } = this;
    const info = await pluginCall(ctx, ctx.config.pluginCallTimeoutMs, `getting connect info of instance ${r.id}`, [ctx.lifetime, signal], (s) =>
      ctx.group.connectInfo(r.id, { signal: s }),
    );
    r.connectInfo = info;
    return info;
  }

  ready(r: InstanceRecord): ConnectInfo | undefined {
    return this.ctx.hooks.heartbeat ? undefined : this.fresh(r);
  }

  private fresh(r: InstanceRecord): ConnectInfo | undefined {
    const info = r.connectInfo;
    if (!info || (info.expiresAt !== undefined && info.expiresAt - EXPIRY_MARGIN_MS <= this.ctx.clock.now())) return undefined;
    return info;
  }

  async prepare(r: InstanceRecord, signal: AbortSignal): Promise<ConnectInfo> {
    const info = this.fresh(r) ?? (await this.fetchConnectInfo(r, signal));
    if (this.ctx.hooks.heartbeat) {
      await this.ctx.hooks.heartbeat(this.hookInstance(r, info), { signal });
      this.healthy(r);
    }
    return info;
  }

  refreshConnectInfo(r: InstanceRecord, signal: AbortSignal | undefined): Promise<ConnectInfo> {
    return this.fetchConnectInfo(r, signal);
  }

  private healthy(r: InstanceRecord): void {
    r.failures = 0;
    r.lastHeartbeatAt = this.ctx.clock.now();
    this.ctx.fleet.checked(r);
    if (r.suspect) {
      r.suspect = false;
      this.ctx.fleet.reindex(r);
      this.acquisitions.serve();
    }
  }

  healthFailure(r: InstanceRecord, err: unknown): void {
    const { ctx } = this;
    // A heartbeat the plugin could not answer because it is restarting says nothing about the instance.
    if (ctx.plugin.failed(err)) return;
    if (r.gone || (r.state !== 'ready' && r.state !== 'draining')) return;
    ctx.counters.healthFailures++;
    r.failures++;
    ctx.logger.warn('instance health check failed', { instance: r.id, failures: r.failures, err: toRunnerError(err).message });
    if (r.failures >= ctx.config.failureThreshold) {
      r.suspect = false;
      this.markUnhealthy(r, 'unhealthy');
    } else if (ctx.hooks.heartbeat) {
      // Skipped until a heartbeat succeeds; the next update cycle checks it again.
      r.suspect = true;
      ctx.fleet.reindex(r);
    }
  }

  private markUnhealthy(r: InstanceRecord, reason: 'unhealthy' | 'broken'): void {
    if (r.acquired === 0) {
      this.markRemoving(r, reason, `replacing instance ${r.id}: ${reason === 'broken' ? 'plugin reports it broken' : `${r.failures} consecutive health failures`}`);
      return;
    }
    this.ctx.logger.warn('instance unhealthy; it takes no new work and is removed when its jobs end', { instance: r.id, acquisitions: r.acquired });
    this.ctx.fleet.setState(r, 'unhealthy');
    this.ctx.kick();
  }

  /**
   * Starts heartbeats on ready instances whose last check is older than the heartbeat interval, and on suspect
   * ones. Visits only those: the heartbeat queue is ordered by the last check, oldest first.
   */
  heartbeats(): void {
    const { ctx } = this;
    const hook = ctx.hooks.heartbeat;
    if (!hook || ctx.plugin.down) return;
    const { fleet } = ctx;
    for (const r of fleet.suspects) this.startHeartbeat(r, hook);
    const due = ctx.clock.now() - ctx.config.heartbeatIntervalMs;
    for (const r of fleet.heartbeatQueue) {
      if (r.lastHeartbeatAt > due) break;
      this.startHeartbeat(r, hook);
    }
  }

  private startHeartbeat(r: InstanceRecord, hook: NonNullable<Context['hooks']['heartbeat']>): void {
    const { ctx } = this;
    if (r.state !== 'ready' || r.heartbeatRunning || !r.connectInfo) return;
    r.heartbeatRunning = true;
    const info = r.connectInfo;
    const run = async (): Promise<void> => {
      try {
        if (ctx.lifetime.aborted) return;
        await hook(this.hookInstance(r, info), { signal: ctx.lifetime });
        this.healthy(r);
      } catch (err) {
        if (!ctx.lifetime.aborted) this.healthFailure(r, err);
      } finally {
        r.heartbeatRunning = false;
      }
    };
    ctx.track(this.heartbeatLimiter.run(run));
  }

  released(r: InstanceRecord): void {
    if (r.acquired > 0) return;
    if (r.state === 'draining') this.markRemoving(r, 'max_use_count', `removing instance ${r.id}: used ${r.useCount} times (max_use_count)`);
    else if (r.state === 'unhealthy') this.markRemoving(r, 'unhealthy', `replacing unhealthy instance ${r.id}`);
  }

  /** Queues `r` for `decrease`. Refuses (and logs) an instance that holds acquisitions. */
  markRemoving(r: InstanceRecord, reason: RemovalReason, detail: string): boolean {
    const { ctx } = this;
    if (r.gone || r.state === 'removing' || r.state === 'deleting') return false;
    if (r.acquired > 0) {
      ctx.logger.error('refusing to remove an instance that holds acquisitions', { instance: r.id, reason });
      return false;
    }
    r.removal = { reason, since: ctx.clock.now(), attemptAt: Number.NEGATIVE_INFINITY };
    ctx.fleet.setState(r, 'removing');
    ctx.fleet.changed(r);
    ctx.counters.instancesRemoved++;
    ctx.decide({ action: 'down', count: 1, reason, detail });
    ctx.kick();
    return true;
  }

  /**
   * Sends `decrease` for instances queued for removal whose last attempt is older than the retry interval.
   * Resolves to the number of deletions the plugin accepted.
   */
  async issueDecreases(signal: AbortSignal | undefined, retryMs = this.ctx.config.deletionRetryIntervalMs): Promise<number> {
    const { ctx } = this;
    let accepted = 0;
    const now = ctx.clock.now();
    const due = [...ctx.fleet.removals].filter((r) => r.removal!.attemptAt + retryMs <= now);
    for (let i = 0; i < due.length && !signal?.aborted; i += 100) {
      const batch = due.slice(i, i + 100);
      const ids = batch.map((r) => r.id);
      for (const r of batch) r.removal!.attemptAt = now;
      ctx.counters.decreaseCalls++;
      try {
        const res = await pluginCall(ctx, ctx.config.pluginCallTimeoutMs, 'deleting instances', [signal], (s) => ctx.group.decrease(ids, { signal: s }));
        const ok = new Set(res.succeeded);
        const refused = ids.filter((id) => !ok.has(id));
        accepted += ids.length - refused.length;
        if (refused.length > 0 || res.error) {
          ctx.counters.decreaseRefused += refused.length;
          ctx.logger.warn('plugin did not accept every deletion; retrying later', { refused, err: res.error?.message, retryMs });
        }
      } catch (err) {
        ctx.counters.decreaseRefused += ids.length;
        ctx.logger.warn('deleting instances failed; retrying later', { ids: ids.length, err: toRunnerError(err).message, retryMs });
      }
    }
    return accepted;
  }
}
