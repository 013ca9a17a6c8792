import { RunnerError, throwIfAborted, type Clock } from '@fleetrunner/common';
import {
  defaultConnectorConfig,
  type CallOptions,
  type ConnectInfo,
  type DecreaseResult,
  type IncreaseResult,
  type InitSettings,
  type InstanceGroup,
  type InstanceState,
  type InstanceStatus,
  type ProviderInfo,
} from '@fleetrunner/fleeting';

/** One instance in the fake cloud. */
export interface MemoryInstance {
  id: string;
  state: InstanceState;
  createdAt: number;
  /** When deletion finishes (ms). */
  goneAt?: number;
}

export interface MemoryGroupOptions {
  clock: Clock;
  /** ProviderInfo.maxSize and a hard cap on live instances; 0 = none. */
  maxSize?: number;
  /** creating → running after this long (ms). Default 0. */
  creationDelayMs?: number;
  /** deleting → gone after this long (ms). Default 0. */
  deletionDelayMs?: number;
  capabilities?: string[];
  /** Connect info expires this long after it is handed out; undefined = never. */
  credentialsTtlMs?: number;
  idPrefix?: string;
}

/**
 * An in-memory cloud with real semantics, driven by the injected clock: instances are created in `creating`
 * and turn `running` after `creationDelayMs`; deletions go through `deleting` for `deletionDelayMs`; `increase`
 * beyond `maxSize` succeeds partially; faults can be injected (failed increases, refused deletions, failing
 * updates, vanishing or broken instances, failing heartbeats).
 */
export class MemoryInstanceGroup implements InstanceGroup {
  readonly instances = new Map<string, MemoryInstance>();
  readonly calls = { init: 0, update: 0, increase: [] as number[], decrease: [] as string[][], connectInfo: 0, heartbeat: 0, shutdown: 0 };
  /** Most live (not gone) instances ever at once. */
  peak = 0;
  /** Decide the result of the next `increase(n)`; undefined = normal behaviour. */
  increaseFault: ((n: number) => IncreaseResult | Error | undefined) | undefined;
  /** Ids whose deletion is refused. */
  readonly refuseDelete = new Set<string>();
  /** The next N `update` calls reject. */
  failUpdates = 0;
  /** Ids whose `heartbeat` rejects with `instance_unhealthy`. */
  readonly unhealthy = new Set<string>();
  /** Called with the ids of every accepted deletion (tests check invariants here). */
  onDelete: ((ids: string[]) => void) | undefined;
  initialised = false;
  private seq = 0;

  constructor(readonly options: MemoryGroupOptions) {}

  private get clock(): Clock {
    return this.options.clock;
  }

  async init(_settings: InitSettings, options: CallOptions = {}): Promise<ProviderInfo> {
    throwIfAborted(options.signal);
    this.calls.init++;
    this.initialised = true;
    return Promise.resolve({ id: 'memory/test/group', maxSize: this.options.maxSize ?? 0, version: '0.0.0', buildInfo: 'test', capabilities: this.options.capabilities ?? [] });
  }

  /** Moves instances along their timelines up to now. */
  private advance(): void {
    const now = this.clock.now();
    for (const i of this.instances.values()) {
      if (i.state === 'creating' && now >= i.createdAt + (this.options.creationDelayMs ?? 0)) i.state = 'running';
      if (i.state === 'deleting' && i.goneAt !== undefined && now >= i.goneAt) this.instances.delete(i.id);
    }
  }

  /** Live instances (every state but gone). */
  get live(): number {
    this.advance();
    return this.instances.size;
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    this.check(options);
    this.calls.update++;
    if (this.failUpdates > 0) {
      this.failUpdates--;
      return Promise.reject(new RunnerError('unavailable', 'cloud API unavailable'));
    }
    this.advance();
    return Promise.resolve([...this.instances.values()].map((i) => ({ id: i.id, state: i.state })));
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    this.check(options);
    this.calls.increase.push(delta);
    const fault = this.increaseFault?.(delta);
    if (fault instanceof Error) return Promise.reject(fault);
    this.advance();
    const max = this.options.maxSize ?? 0;
    let n = fault ? fault.succeeded : delta;
    let error = fault?.error;
    if (max > 0 && this.instances.size + n > max) {
      n = Math.max(0, max - this.instances.size);
      error = new RunnerError('plugin_error', `group is full (${max})`);
    }
    for (let k = 0; k < n; k++) {
      const id = `${this.options.idPrefix ?? 'i'}-${++this.seq}`;
      this.instances.set(id, { id, state: 'creating', createdAt: this.clock.now() });
    }
    this.peak = Math.max(this.peak, this.instances.size);
    return Promise.resolve(error ? { succeeded: n, error } : { succeeded: n });
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    this.check(options);
    this.calls.decrease.push([...ids]);
    this.advance();
    const succeeded: string[] = [];
    const refused: string[] = [];
    for (const id of ids) {
      const i = this.instances.get(id);
      if (!i || this.refuseDelete.has(id)) {
        refused.push(id);
        continue;
      }
      if (i.state !== 'deleting') {
        i.state = 'deleting';
        i.goneAt = this.clock.now() + (this.options.deletionDelayMs ?? 0);
      }
      succeeded.push(id);
    }
    this.onDelete?.(succeeded);
    this.advance();
    return Promise.resolve(refused.length ? { succeeded, error: new RunnerError('plugin_error', `cannot delete ${refused.join(', ')}`) } : { succeeded });
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    this.check(options);
    this.calls.connectInfo++;
    const i = this.instances.get(id);
    if (!i) return Promise.reject(new RunnerError('instance_not_found', `no instance ${id}`));
    const ttl = this.options.credentialsTtlMs;
    const info: ConnectInfo = { ...defaultConnectorConfig({ username: 'runner' }), id, internalAddr: `10.0.0.${this.seq % 250}`, externalAddr: '' };
    if (ttl !== undefined) info.expiresAt = this.clock.now() + ttl;
    return Promise.resolve(info);
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    this.check(options);
    this.calls.heartbeat++;
    if (this.unhealthy.has(id) || !this.instances.has(id)) return Promise.reject(new RunnerError('instance_unhealthy', `instance ${id} is unhealthy`));
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    this.calls.shutdown++;
    this.initialised = false;
    return Promise.resolve();
  }

  /** The instance disappears at once (someone deleted it in the console). */
  vanish(id: string): void {
    this.instances.delete(id);
  }

  /** The cloud starts deleting the instance on its own. */
  deleteExternally(id: string): void {
    const i = this.instances.get(id);
    if (i) {
      i.state = 'deleting';
      i.goneAt = this.clock.now() + (this.options.deletionDelayMs ?? 0);
    }
  }

  /** The plugin reports the instance broken. */
  breakInstance(id: string): void {
    const i = this.instances.get(id);
    if (i) i.state = 'timeout';
  }

  /** Adds an instance that nobody asked for (e.g. left over from a previous run). */
  addForeign(id: string, state: InstanceState = 'running'): void {
    this.instances.set(id, { id, state, createdAt: this.clock.now() });
  }

  private check(options: CallOptions): void {
    throwIfAborted(options.signal);
    if (!this.initialised) throw new RunnerError('plugin_error', 'instance group used before init or after shutdown');
  }
}
