import {
  Limiter,
  abortError,
  RunnerError,
  nullLogger,
  systemClock,
  throwIfAborted,
  toRunnerError,
  type Clock,
  type Logger,
  type Timer,
} from '@fleetrunner/common';
import { GroupLifecycle } from '@fleetrunner/fleeting';
import type { CallOptions, ConnectInfo, ConnectorConfig, DecreaseResult, IncreaseResult, InitSettings, InstanceGroup, InstanceState, InstanceStatus, ProviderInfo } from '@fleetrunner/fleeting';
import { parseLocalConfig, type ConfigEnv, type LocalConfig } from './config.js';
import { createInstance } from './create-instance.js';
import { Faults } from './faults.js';
import { checkSshd } from './launch.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import { probeSsh } from './probe.js';
import { isAlive, killInstanceProcesses, waitForExit } from './proc.js';
import { StateStore, type InstanceRecord } from './state-store.js';
import { VERSION, buildInfo, goArch, goOs, hostName } from './version.js';

/** Options of {@link LocalInstanceGroup}. */
export interface LocalInstanceGroupOptions {
  /** Logical time: creation and ready times, boot_delay, vanish_after, creation timeout. Default: the wall clock. */
  clock?: Clock;
  /** Default: no logging (init's `logger` option takes precedence). */
  logger?: Logger;
  /** Where state-dir defaults come from. Default `process.env`. */
  env?: ConfigEnv;
  /** An instance not accepting SSH this long after creation reports `timeout`. Default 60 000 ms. */
  createTimeoutMs?: number;
}

/** Real-time bounds of waits on instance processes (never on the logical clock). */
const PROBE_TIMEOUT_MS = 2000;
const READY_POLL_MS = 50;
const EXIT_WAIT_MS = 10_000;

/**
 * An instance group whose instances are SSH servers on this machine, one loopback address each, each its own
 * detached process tree that survives plugin restarts. See the package README for plugin_config.
 */
export class LocalInstanceGroup implements InstanceGroup {
  private readonly life = new GroupLifecycle<StateStore>();
  private config!: LocalConfig;
  private connector!: ConnectorConfig;
  private creds!: Credentials;
  private store!: StateStore;
  private logger: Logger;
  private readonly clock: Clock;
  private readonly createTimeoutMs: number;
  private readonly records = new Map<string, InstanceRecord>();
  /** Ids removed since the last update, reported once as `deleted`. */
  private readonly tombstones = new Set<string>();
  private readonly vanishTimers = new Map<string, Timer>();
  private readonly finalizing = new Map<string, Promise<void>>();
  /** Aborts every background wait (readiness polls, deletion waits) at shutdown. */
  private readonly background = new AbortController();
  /** Serializes increase and decrease, which allocate indices and addresses. */
  private readonly mutate = new Limiter(1);
  private faults!: Faults;

  constructor(private readonly options: LocalInstanceGroupOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.createTimeoutMs = options.createTimeoutMs ?? 60_000;
  }

  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    this.life.starting(options.signal);
    const config = parseLocalConfig(settings.pluginConfig, this.options.env ?? process.env);
    if (settings.connector.protocol !== 'ssh') {
      throw new RunnerError('invalid_argument', `connector_config.protocol: the local plugin serves "ssh" only, got "${settings.connector.protocol}"`);
    }
    if (config.mode === 'sshd') await checkSshd(config.sshdPath);
    this.logger = (options.logger ?? this.logger).child({ component: 'plugin-local', group: config.name });
    this.config = config;
    this.faults = new Faults(config);
    this.connector = settings.connector;
    const store = new StateStore(config.stateDir);
    this.creds = await resolveCredentials(settings.connector, config.mode, async () => {
      await store.ensure();
      return store.groupKey(`fleetrunner-local-${config.name}`);
    });
    await store.ensure();
    this.store = store;
    await this.rediscover();
    this.life.opened(store);
    this.logger.info('initialized', { mode: config.mode, state_dir: config.stateDir, instances: this.records.size });
    return {
      id: `local/${hostName()}/${config.name}`,
      maxSize: config.maxSize,
      version: VERSION,
      buildInfo: buildInfo(),
      capabilities: [],
    };
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    this.check(options.signal);
    const out: InstanceStatus[] = [];
    for (const rec of [...this.records.values()]) {
      const state = await this.observe(rec, options.signal);
      if (state) out.push({ id: rec.id, state });
    }
    for (const id of this.tombstones) out.push({ id, state: 'deleted' });
    this.tombstones.clear();
    return out;
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    this.check(options.signal);
    return this.mutate.run(async () => {
      let succeeded = 0;
      const failures: RunnerError[] = [];
      for (let i = 0; i < delta; i++) {
        if (options.signal?.aborted) {
          // Instances already created stay and are counted: the host learns about them either way.
          failures.push(toRunnerError(abortError(options.signal)));
          break;
        }
        if (this.activeCount() >= this.config.maxSize) {
          failures.push(new RunnerError('no_capacity', `${delta - i} instance(s) over max_size ${this.config.maxSize}`));
          break;
        }
        const injected = this.faults.nextIncrease();
        if (injected) {
          failures.push(injected);
          continue;
        }
        try {
          await this.create();
          succeeded++;
        } catch (err) {
          failures.push(toRunnerError(err));
        }
      }
      if (failures.length === 0) return { succeeded };
      const error = new RunnerError(failures[0]!.code, `increasing by ${delta}: ${failures.map((f) => f.message).join('; ')}`, { cause: failures[0] });
      this.logger.warn('increase partly failed', { requested: delta, succeeded, error: error.message });
      return { succeeded, error };
    });
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    this.check(options.signal);
    return this.mutate.run(async () => {
      const succeeded: string[] = [];
      const failures: RunnerError[] = [];
      for (const id of ids) {
        const rec = this.records.get(id);
        if (!rec) {
          failures.push(new RunnerError('instance_not_found', `${id}: no such instance`));
          continue;
        }
        const injected = this.faults.nextDecrease(id);
        if (injected) {
          failures.push(injected);
          continue;
        }
        try {
          if (!rec.deleting) {
            rec.deleting = true;
            this.vanishTimers.get(id)?.clear();
            this.kill(rec);
            await this.store.save(rec);
          }
        } catch (err) {
          // The processes are dead already; the files go with the finalizer below.
          this.logger.warn('recording deletion failed', { id, error: toRunnerError(err).message });
        }
        this.finalize(rec);
        succeeded.push(id);
      }
      if (failures.length === 0) return { succeeded };
      return { succeeded, error: new RunnerError(failures[0]!.code, `decreasing: ${failures.map((f) => f.message).join('; ')}`, { cause: failures[0] }) };
    });
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    this.check(options.signal);
    const rec = this.get(id);
    return {
      ...this.connector,
      id,
      os: this.connector.os || goOs(),
      arch: this.connector.arch || goArch(),
      protocol: 'ssh',
      protocolPort: rec.port,
      username: rec.username,
      password: this.creds.connectPassword,
      key: this.creds.connectKey,
      internalAddr: rec.ip,
      externalAddr: '',
    };
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    this.check(options.signal);
    const rec = this.get(id);
    const unhealthy = (why: string): RunnerError => new RunnerError('instance_unhealthy', `instance ${id} ${why}`);
    if (this.faults.unhealthy(id, rec.index)) throw unhealthy('is unhealthy (plugin_config.unhealthy)');
    if (rec.deleting) throw unhealthy('is being deleted');
    if (!isAlive(rec)) throw unhealthy('has no running SSH server');
    const signal = options.signal;
    if (!(await probeSsh(rec.ip, rec.port, { timeoutMs: PROBE_TIMEOUT_MS, ...(signal ? { signal } : {}) }))) {
      throwIfAborted(signal);
      throw unhealthy(`does not accept SSH connections on ${rec.ip}:${rec.port}`);
    }
  }

  async shutdown(_options: CallOptions = {}): Promise<void> {
    if (this.life.isShutDown) return;
    this.life.shutDown();
    this.background.abort(new RunnerError('aborted', 'instance group shut down'));
    for (const t of this.vanishTimers.values()) t.clear();
    this.vanishTimers.clear();
    await Promise.allSettled([...this.finalizing.values()]);
  }

  private check(signal: AbortSignal | undefined): void {
    this.life.ready(signal);
  }

  private get(id: string): InstanceRecord {
    const rec = this.records.get(id);
    if (!rec) throw new RunnerError('instance_not_found', `instance ${id} not found`, { details: { id } });
    return rec;
  }

  private activeCount(): number {
    let n = 0;
    for (const r of this.records.values()) if (!r.deleting) n++;
    return n;
  }

  private async create(): Promise<void> {
    const inUse = new Set([...this.records.values()].map((r) => r.ip));
    const index = await this.store.nextIndex();
    const rec = await createInstance({ config: this.config, store: this.store, creds: this.creds, index, now: this.clock.now(), inUse });
    this.records.set(rec.id, rec);
    this.logger.info('instance created', { id: rec.id, addr: `${rec.ip}:${rec.port}`, pid: rec.pid });
    this.watchReady(rec);
  }

  /** Finds instances left by an earlier plugin process and resumes watching them. */
  private async rediscover(): Promise<void> {
    const { records, broken } = await this.store.list();
    for (const id of broken) {
      this.logger.warn('removing instance directory without a record', { id });
      await this.store.remove(id);
    }
    for (const rec of records) {
      this.records.set(rec.id, rec);
      if (rec.deleting) {
        this.kill(rec);
        this.finalize(rec);
      } else if (rec.readyAt === undefined) this.watchReady(rec);
      else this.armVanish(rec);
    }
  }

  /** Current state of one instance; undefined when it is gone (removed, vanished) and must not be listed. */
  private async observe(rec: InstanceRecord, signal: AbortSignal | undefined): Promise<InstanceState | undefined> {
    if (this.records.get(rec.id) !== rec) return undefined;
    if (rec.deleting) {
      if (isAlive(rec)) return 'deleting';
      await this.remove(rec);
      return undefined;
    }
    if (!(await this.store.exists(rec.id))) {
      this.logger.warn('instance files removed out of band', { id: rec.id });
      this.kill(rec);
      this.forget(rec);
      return undefined;
    }
    if (!isAlive(rec)) return 'timeout';
    const now = this.clock.now();
    if (rec.readyAt === undefined) {
      if (await probeSsh(rec.ip, rec.port, { timeoutMs: PROBE_TIMEOUT_MS, ...(signal ? { signal } : {}) })) await this.markReady(rec);
      else return now - rec.createdAt > this.createTimeoutMs ? 'timeout' : 'creating';
    }
    const runningAt = rec.readyAt! + this.config.bootDelayMs;
    if (this.config.vanishAfterMs > 0 && now >= runningAt + this.config.vanishAfterMs) {
      await this.vanish(rec);
      return undefined;
    }
    return now < runningAt ? 'creating' : 'running';
  }

  private async markReady(rec: InstanceRecord): Promise<void> {
    // A probe may finish after the instance was decreased (and its files removed) meanwhile.
    if (rec.readyAt !== undefined || rec.deleting || this.records.get(rec.id) !== rec) return;
    rec.readyAt = this.clock.now();
    this.logger.info('instance accepts SSH', { id: rec.id });
    this.armVanish(rec);
    try {
      await this.store.save(rec);
    } catch (err) {
      if (this.records.get(rec.id) === rec && !rec.deleting) throw RunnerError.wrap(`saving instance ${rec.id}`, err);
    }
  }

  /** Polls (real time) until the instance accepts SSH, so boot_delay counts from when it was really up. */
  private watchReady(rec: InstanceRecord): void {
    const signal = this.background.signal;
    const deadline = Date.now() + this.createTimeoutMs;
    const loop = async (): Promise<void> => {
      while (!signal.aborted && this.records.get(rec.id) === rec && rec.readyAt === undefined && !rec.deleting && Date.now() < deadline) {
        if (!isAlive(rec)) return;
        if (await probeSsh(rec.ip, rec.port, { timeoutMs: PROBE_TIMEOUT_MS, signal })) {
          await this.markReady(rec);
          return;
        }
        await systemClock.sleep(READY_POLL_MS, { signal });
      }
    };
    loop().catch((err: unknown) => {
      if (!signal.aborted) this.logger.warn('watching instance start failed', { id: rec.id, error: toRunnerError(err).message });
    });
  }

  private armVanish(rec: InstanceRecord): void {
    if (this.config.vanishAfterMs <= 0 || rec.readyAt === undefined || this.life.isShutDown) return;
    const due = rec.readyAt + this.config.bootDelayMs + this.config.vanishAfterMs;
    this.vanishTimers.get(rec.id)?.clear();
    this.vanishTimers.set(
      rec.id,
      this.clock.setTimeout(() => {
        this.vanish(rec).catch((err: unknown) => this.logger.warn('vanishing instance failed', { id: rec.id, error: toRunnerError(err).message }));
      }, due - this.clock.now()),
    );
  }

  /** vanish_after: the instance disappears as if deleted behind the plugin's back (no `deleting`, no `deleted`). */
  private async vanish(rec: InstanceRecord): Promise<void> {
    if (this.records.get(rec.id) !== rec || rec.deleting) return;
    this.logger.warn('instance vanishes (plugin_config.vanish_after)', { id: rec.id });
    this.forget(rec);
    this.kill(rec);
    await this.store.remove(rec.id);
  }

  /** Waits (real time) for a deleted instance's processes to end, then removes its files. One per instance. */
  private finalize(rec: InstanceRecord): void {
    if (this.finalizing.has(rec.id)) return;
    const signal = this.background.signal;
    const work = (async () => {
      if (!(await waitForExit(rec, { timeoutMs: EXIT_WAIT_MS, signal }))) {
        this.kill(rec);
        if (!(await waitForExit(rec, { timeoutMs: EXIT_WAIT_MS, signal }))) return;
      }
      await this.remove(rec);
    })()
      .catch((err: unknown) => {
        if (!signal.aborted) this.logger.warn('deleting instance failed', { id: rec.id, error: toRunnerError(err).message });
      })
      .finally(() => this.finalizing.delete(rec.id));
    this.finalizing.set(rec.id, work);
  }

  private async remove(rec: InstanceRecord): Promise<void> {
    if (this.records.get(rec.id) !== rec) return;
    this.forget(rec);
    this.tombstones.add(rec.id);
    await this.store.remove(rec.id);
    this.logger.info('instance deleted', { id: rec.id });
  }

  private kill(rec: InstanceRecord): void {
    killInstanceProcesses(rec, this.store.instanceDir(rec.id));
  }

  private forget(rec: InstanceRecord): void {
    this.records.delete(rec.id);
    this.vanishTimers.get(rec.id)?.clear();
    this.vanishTimers.delete(rec.id);
  }
}
