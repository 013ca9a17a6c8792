import { join } from 'node:path';
import { RunnerError, mapSettled, raceAbort, toRunnerError, type Logger } from '@fleetrunner/common';
import type { AutoscalerConfig, AutoscalerPolicy } from '@fleetrunner/config';
import { startFleet, type Fleet } from './fleet.js';

/** How a fleet is made (injectable for tests). */
export type FleetFactory = (a: AutoscalerConfig, o: { logger: Logger; signal?: AbortSignal }) => Promise<Fleet>;

/** Starts a fleet the way the manager does: state kept in `<state_storage.dir>/<short token>`. */
export function fleetFactory(short: string, builtinPlugins?: Readonly<Record<string, string>>): FleetFactory {
  return (a, o) => {
    const dir = join(a.stateStorage.dir, short);
    return startFleet({ ...a, stateStorage: { ...a.stateStorage, dir } }, { logger: o.logger, defaultStateDir: dir, ...(builtinPlugins ? { builtinPlugins } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  };
}

interface Entry {
  fleet: Promise<Fleet>;
  started?: Fleet;
}

/**
 * One autoscaler (plugin process + taskscaler + connector) per runner key, created on first use and kept until
 * shutdown, even when the runner leaves the config (GitLab Runner keeps its scalers too). A failed creation is
 * forgotten so the next polling attempt tries again. Only the policy list follows config reloads.
 */
export class FleetPool {
  private readonly fleets = new Map<string, Entry>();
  private readonly stopCreating = new AbortController();
  private state: 'running' | 'stopping' | 'stopped' = 'running';

  constructor(private readonly logger: Logger) {}

  /** The fleet of `key`, starting it with `create` when there is none. */
  get(key: string, create: (signal: AbortSignal) => Promise<Fleet>): Promise<Fleet> {
    if (this.state !== 'running') return Promise.reject(new RunnerError('unavailable', 'the manager is shutting down'));
    const known = this.fleets.get(key);
    if (known) return known.fleet;
    const entry: Entry = { fleet: create(this.stopCreating.signal) };
    this.fleets.set(key, entry);
    entry.fleet.then(
      (f) => (entry.started = f),
      () => {
        if (this.fleets.get(key) === entry) this.fleets.delete(key);
      },
    );
    return entry.fleet;
  }

  /** Started fleets by key. */
  started(): [string, Fleet][] {
    return [...this.fleets].flatMap(([k, e]) => (e.started ? [[k, e.started] as [string, Fleet]] : []));
  }

  /** Re-applies a policy list to a running fleet (config reload); a bad list is logged and the old one kept. */
  configure(key: string, policies: readonly AutoscalerPolicy[]): void {
    const f = this.fleets.get(key)?.started;
    if (!f) return;
    try {
      f.taskscaler.configureSchedule(policies);
      this.logger.info('autoscaler policies re-applied', { key: keyForLog(key), policies: policies.length });
    } catch (err) {
      this.logger.error('configuring taskscaler schedules', { key: keyForLog(key), error: toRunnerError(err).message });
    }
  }

  /**
   * Stops every fleet in parallel (taskscaler shutdown, then the plugin), each bounded by `signal`. Fleets still
   * being created are aborted. Resolves when all stopped or the signal fired; idempotent.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.stopCreating.abort(new RunnerError('aborted', 'the manager is shutting down'));
    const entries = [...this.fleets.values()];
    await mapSettled(entries, 16, async (e) => {
      const fleet = await e.fleet.catch(() => undefined);
      if (!fleet) return;
      try {
        await raceAbort(fleet.stop(), signal);
      } catch (err) {
        this.logger.warn('stopping an autoscaler did not finish in time', { error: toRunnerError(err).message });
      }
    });
    this.state = 'stopped';
  }
}

/** A runner key without its token (`url|token:…` when the runner has no id). */
export function keyForLog(key: string): string {
  return key.replace(/\|token:.*$/, '|token');
}
