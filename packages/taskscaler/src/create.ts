import { RunnerError, nullLogger, systemClock, toRunnerError, type Clock } from '@fleetrunner/common';
import type { InstanceGroup, ProviderInfo } from '@fleetrunner/fleeting';
import { resolveConfig, type TaskscalerConfig } from './config.js';
import { pluginCall } from './context.js';
import { Scaler } from './scaler.js';
import { FileStateStore, type StateStore } from './state-store.js';
import type { Taskscaler, TaskscalerDeps } from './taskscaler.js';

/**
 * Creates a taskscaler over `group`: `init` (deadline `initTimeoutMs`), load saved state, first `update` (which
 * decides what is re-adopted and what is removed), first scaling pass. Resolves when it is running; on failure
 * shuts the group down (best effort) and rejects with `creating taskscaler: …`.
 */
export async function createTaskscaler(group: InstanceGroup, config: TaskscalerConfig = {}, deps: TaskscalerDeps = {}): Promise<Taskscaler> {
  const resolved = resolveConfig(config);
  const clock: Clock = deps.clock ?? systemClock;
  const logger = (deps.logger ?? nullLogger).child({ component: 'taskscaler' });
  let store: StateStore | undefined;
  if (resolved.stateStorage.enabled) {
    store = deps.stateStore ?? (resolved.stateStorage.dir ? new FileStateStore(resolved.stateStorage.dir) : undefined);
    if (!store) {
      throw new RunnerError('invalid_argument', 'state_storage.dir: required when state storage is enabled (the default); set a directory or disable state storage', {
        details: { path: 'state_storage.dir' },
      });
    }
  }
  const cleanUp = async (): Promise<void> => {
    try {
      await pluginCall({ clock }, resolved.pluginCallTimeoutMs, 'shutting down instance group', [], (s) => group.shutdown({ signal: s }));
    } catch (err) {
      logger.warn('shutting down the instance group after a failed start failed', { err: toRunnerError(err).message });
    }
  };
  let info: ProviderInfo;
  try {
    info = await pluginCall({ clock }, resolved.initTimeoutMs, 'initialising instance group', [deps.signal], (s) =>
      group.init(resolved.instanceGroup, { signal: s, logger }),
    );
  } catch (err) {
    await cleanUp();
    throw RunnerError.wrap('creating taskscaler', err);
  }
  let scaler: Scaler | undefined;
  try {
    const saved = store ? await store.load({ signal: deps.signal }) : undefined;
    logger.info('taskscaler starting', { provider: info.id, maxSize: info.maxSize, savedInstances: saved?.instances.length, stateFile: store?.location });
    scaler = new Scaler(group, resolved, { clock, logger, hooks: deps.hooks ?? {}, store }, info, saved);
    await scaler.start(deps.signal);
    return scaler;
  } catch (err) {
    if (scaler) await scaler.shutdown();
    else await cleanUp();
    throw RunnerError.wrap('creating taskscaler', err);
  }
}
