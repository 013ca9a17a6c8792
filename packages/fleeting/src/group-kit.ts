import { Limiter, RunnerError, throwIfAborted, toRunnerError, type Logger } from '@fleetrunner/common';
import type { DecreaseResult, IncreaseResult, InstanceState, InstanceStatus } from './types.js';

/**
 * The life of a plugin's instance group: new → ready (init done, with the client it talks through) → shut down.
 * Calls before init, after shutdown or with an aborted signal fail the same way in every plugin.
 */
export class GroupLifecycle<Api> {
  #state: 'new' | 'ready' | 'shutdown' = 'new';
  #api: Api | undefined;
  /** Serializes size changes (increase, decrease), which read and change the group's size. */
  readonly #resizes = new Limiter(1);

  /** Throws unless init may run now (the first init, signal not aborted). */
  starting(signal: AbortSignal | undefined): void {
    throwIfAborted(signal);
    if (this.#state !== 'new') throw new RunnerError('invalid_argument', 'init: already called');
  }

  /** Init succeeded: the group is ready and talks through `api`. */
  opened(api: Api): void {
    this.#api = api;
    this.#state = 'ready';
  }

  /** The client of the ready group; throws when `signal` is aborted, before init and after shutdown. */
  ready(signal: AbortSignal | undefined): Api {
    throwIfAborted(signal);
    if (this.#state === 'new') throw new RunnerError('invalid_argument', 'instance group: init has not been called');
    if (this.#state === 'shutdown' || this.#api === undefined) throw new RunnerError('unavailable', 'instance group: shut down');
    return this.#api;
  }

  /** Runs `change` with the ready group's client, one size change (increase, decrease) at a time; throws like {@link ready}. */
  resize<T>(signal: AbortSignal | undefined, change: (api: Api) => Promise<T>): Promise<T> {
    const api = this.ready(signal);
    return this.#resizes.run(() => change(api));
  }

  get isShutDown(): boolean {
    return this.#state === 'shutdown';
  }

  /** Shuts the group down; returns the client to close (undefined when there is none, or it was shut down before). */
  shutDown(): Api | undefined {
    const api = this.#api;
    this.#state = 'shutdown';
    this.#api = undefined;
    return api;
  }
}

/** What the last update learned of one instance: at least its state. */
export interface KnownInstance {
  state: InstanceState;
}

/**
 * The entry of `id` in `known` (what the last update saw), else an `instance_not_found` error naming `where`
 * (`scale set "runners"`). A `deleted` instance counts as absent unless `deletedToo`.
 */
export function knownInstance<K extends KnownInstance>(known: ReadonlyMap<string, K>, id: string, where: string, deletedToo = false): K {
  const k = known.get(id);
  if (!k || (!deletedToo && k.state === 'deleted')) throw new RunnerError('instance_not_found', `instance ${id} not found in ${where}`, { details: { id } });
  return k;
}

/** A heartbeat served from the last update (a heartbeat per instance must not cost an API call): only `running` is healthy. */
export function heartbeatFromKnown(known: ReadonlyMap<string, KnownInstance>, id: string, where: string): void {
  const k = knownInstance(known, id, where, true);
  if (k.state !== 'running') throw new RunnerError('instance_unhealthy', `instance ${id} is ${k.state}`);
}

/** Instances the last update knew (`before`) that are gone from `next` (deleted, also out of band): each reported `deleted` once. */
export function vanished(before: ReadonlyMap<string, KnownInstance>, next: ReadonlyMap<string, unknown>): InstanceStatus[] {
  const out: InstanceStatus[] = [];
  for (const [id, k] of before) if (!next.has(id) && k.state !== 'deleted') out.push({ id, state: 'deleted' });
  return out;
}

/** How {@link increaseCapacity} reads and sets a group's size through the group's client `Api`. */
export interface CapacityControl<Api> {
  /** The size asked for now and the largest allowed; throws when the group is gone. */
  read(api: Api, signal: AbortSignal | undefined): Promise<{ current: number; max: number }>;
  set(api: Api, target: number, signal: AbortSignal | undefined): Promise<void>;
  /** Names the limit for the partial-grant error: `the largest group size 1000 (target size was 998)`. */
  limit(max: number, current: number): string;
}

/**
 * Raises a group's size by `delta` (nothing for `delta` ≤ 0) up to its largest size, one size change at a time:
 * all of it, part of it (a `no_capacity` error saying how many were over `limit`), or nothing (the failure wrapped
 * with "increasing by N"). Warnings go to `logger`.
 */
export function increaseCapacity<Api>(delta: number, life: GroupLifecycle<Api>, signal: AbortSignal | undefined, logger: Logger, control: CapacityControl<Api>): Promise<IncreaseResult> {
  if (delta <= 0) {
    life.ready(signal);
    return Promise.resolve({ succeeded: 0 });
  }
  return life.resize(signal, async (api) => {
    try {
      const { current, max } = await control.read(api, signal);
      const target = Math.min(current + delta, max);
      const granted = Math.max(0, target - current);
      if (granted > 0) await control.set(api, target, signal);
      if (granted === delta) return { succeeded: granted };
      const error = new RunnerError('no_capacity', `increasing by ${delta}: ${delta - granted} instance(s) over ${control.limit(max, current)}`);
      logger.warn('increase partly granted', { requested: delta, succeeded: granted, max_size: max });
      return { succeeded: granted, error };
    } catch (err) {
      const error = RunnerError.wrap(`increasing by ${delta}`, err);
      logger.warn('increase failed', { requested: delta, error: error.message });
      return { succeeded: 0, error };
    }
  });
}

/** Runs a decrease of `ids` with the ready group's client, one size change at a time; an empty one succeeds at once. */
export function decreaseGroup<Api>(ids: readonly string[], life: GroupLifecycle<Api>, signal: AbortSignal | undefined, change: (api: Api) => Promise<DecreaseResult>): Promise<DecreaseResult> {
  if (ids.length === 0) {
    life.ready(signal);
    return Promise.resolve({ succeeded: [] });
  }
  return life.resize(signal, change);
}

/** A decrease sorted by what the last update knew: ids not known (failures), already going (succeeded), to delete. */
export interface DecreasePlan {
  succeeded: string[];
  failures: RunnerError[];
  send: string[];
}

/** Sorts the distinct `ids` of a decrease; an unknown id fails with `instance_not_found`: `<id>: not an instance of <where>`. */
export function planDecrease(ids: readonly string[], known: ReadonlyMap<string, KnownInstance>, where: string): DecreasePlan {
  const plan: DecreasePlan = { succeeded: [], failures: [], send: [] };
  for (const id of new Set(ids)) {
    const k = known.get(id);
    if (!k) plan.failures.push(new RunnerError('instance_not_found', `${id}: not an instance of ${where}`));
    else if (k.state === 'deleting' || k.state === 'deleted') plan.succeeded.push(id);
    else plan.send.push(id);
  }
  return plan;
}

/**
 * The result of a decrease: the ids on their way out (marked `deleting` in `known`), and one error joining the
 * failures (code of the first), logged unless every failure was an unknown instance.
 */
export function decreaseOutcome(succeeded: string[], failures: unknown[], logger: Logger, known?: ReadonlyMap<string, KnownInstance>): DecreaseResult {
  for (const id of succeeded) {
    const k = known?.get(id);
    if (k && k.state !== 'deleted') k.state = 'deleting';
  }
  if (failures.length === 0) return { succeeded };
  const errors = failures.map((f) => toRunnerError(f));
  const error = new RunnerError(errors[0]!.code, `decreasing: ${errors.map((f) => f.message).join('; ')}`, { cause: errors[0] });
  if (errors.some((f) => f.code !== 'instance_not_found')) logger.warn('decrease partly failed', { succeeded: succeeded.length, error: error.message });
  return { succeeded, error };
}
