import { FakeClock, createLogger, memorySink, type LogEntry } from '@fleetrunner/common';
import type { InstanceGroup } from '@fleetrunner/fleeting';
import { createTaskscaler, type Acquisition, type SavedState, type ScalingDecision, type StateStore, type Taskscaler, type TaskscalerConfig, type TaskscalerHooks } from '../../src/index.js';
import { parseSavedState, stateText } from '../../src/state-store.js';
import { MemoryInstanceGroup, type MemoryGroupOptions } from './memory-group.js';

/**
 * A StateStore in memory that counts saves (the file store has its own tests). By default it takes instance
 * texts as the file store does (`saveSerialized`, the taskscaler's incremental path); `{ serialized: false }`
 * leaves only `save`, the whole-snapshot path of other stores.
 */
export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  state: SavedState | undefined;
  saves = 0;
  saveSerialized?: (savedAt: number, instances: readonly string[]) => Promise<void>;

  constructor(options: { serialized?: boolean } = {}) {
    if (options.serialized === false) return;
    this.saveSerialized = (savedAt, instances) => {
      this.saves++;
      this.state = parseSavedState(JSON.parse(stateText(savedAt, instances)), 'memory');
      return Promise.resolve();
    };
  }

  load(): Promise<SavedState | undefined> {
    return Promise.resolve(this.state && (JSON.parse(JSON.stringify(this.state)) as SavedState));
  }

  save(state: SavedState): Promise<void> {
    this.saves++;
    this.state = JSON.parse(JSON.stringify(state)) as SavedState;
    return Promise.resolve();
  }

  ids(): string[] {
    return (this.state?.instances ?? []).map((i) => i.id).sort();
  }
}

export interface Started<G extends InstanceGroup = MemoryInstanceGroup> {
  ts: Taskscaler;
  group: G;
  clock: FakeClock;
  logs: LogEntry[];
  decisions: ScalingDecision[];
}

export interface StartOptions<G extends InstanceGroup> {
  config?: TaskscalerConfig;
  clock?: FakeClock;
  group?: G;
  groupOptions?: Omit<MemoryGroupOptions, 'clock'>;
  hooks?: TaskscalerHooks;
  store?: StateStore;
}

/** Monday 5 January 2026, 12:00 UTC: a fixed start for every test. */
export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

/** Creates a taskscaler over a memory group (or `group`) with a fake clock and a collecting logger. */
export async function start<G extends InstanceGroup = MemoryInstanceGroup>(o: StartOptions<G> = {}): Promise<Started<G>> {
  const clock = o.clock ?? new FakeClock(T0);
  const group = (o.group ?? new MemoryInstanceGroup({ clock, ...o.groupOptions })) as G;
  const sink = memorySink();
  const decisions: ScalingDecision[] = [];
  const hooks: TaskscalerHooks = {
    ...o.hooks,
    onDecision: (d) => {
      decisions.push(d);
      o.hooks?.onDecision?.(d);
    },
  };
  const config: TaskscalerConfig = { ...o.config, stateStorage: { enabled: o.store !== undefined || o.config?.stateStorage?.dir !== undefined, ...o.config?.stateStorage } };
  const ts = await createTaskscaler(group, config, { clock, logger: createLogger({ level: 'debug', sink }), hooks, stateStore: o.store });
  return { ts, group, clock, logs: sink.entries, decisions };
}

/** Lets queued passes and promise chains run without moving time. */
export async function settle(clock: FakeClock): Promise<void> {
  await clock.advance(0);
}

/** Starts one acquire per key and moves the clock in `stepMs` steps until all settle (at most `maxMs`). */
export async function acquireAll(ts: Taskscaler, clock: FakeClock, keys: readonly string[], stepMs = 1_000, maxMs = 3_600_000): Promise<Acquisition[]> {
  let done = false;
  const all = Promise.all(keys.map((k) => ts.acquire(k))).finally(() => (done = true));
  all.catch(() => {});
  for (let waited = 0; !done && waited < maxMs; waited += stepMs) await clock.advance(stepMs);
  return all;
}

/** Awaits `p` while moving the clock in `stepMs` steps (for work that sleeps on the clock, like shutdown). */
export async function whileAdvancing<T>(clock: FakeClock, p: Promise<T>, stepMs = 1_000, maxMs = 3_600_000): Promise<T> {
  let done = false;
  const q = p.finally(() => (done = true));
  q.catch(() => {});
  for (let waited = 0; !done && waited < maxMs; waited += stepMs) await clock.advance(stepMs);
  return q;
}
