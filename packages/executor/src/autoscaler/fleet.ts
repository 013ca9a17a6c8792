import { RunnerError, toRunnerError, type Logger } from '@fleetrunner/common';
import type { AutoscalerConfig } from '@fleetrunner/config';
import { SshConnector } from '@fleetrunner/connector';
import { runSupervisedPlugin, type RunningPlugin, type SupervisedInstanceGroup } from '@fleetrunner/fleeting';
import { createTaskscaler, type Taskscaler } from '@fleetrunner/taskscaler';
import { pluginName, resolvePluginPath } from './plugin-lookup.js';
import { connectorSettingsOf, removeLeftoverVms } from './vm-isolation.js';

/**
 * A runner's autoscaled fleet: the plugin process (restarted with back-off when it dies, see
 * SupervisedInstanceGroup), the taskscaler over it, and the SSH connector to its instances.
 */
export interface Fleet {
  readonly pluginPath: string;
  readonly plugin: RunningPlugin & { group: SupervisedInstanceGroup };
  readonly taskscaler: Taskscaler;
  readonly connector: SshConnector;
  /** Shuts the taskscaler down (deleting or persisting instances per config), closes connections, stops the plugin. */
  stop(): Promise<void>;
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  logger: Logger;
  /** State storage directory when the config leaves it empty. */
  defaultStateDir?: string;
  /** The config file, for the install hint when the plugin is not installed. */
  configFile?: string;
  /** Plugins the binary embeds, by name (the command line supplies them). */
  builtinPlugins?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}


/**
 * Starts the plugin named by `[runners.autoscaler] plugin`, a taskscaler with the autoscaler settings, and the
 * connector. `instance_ready_command` runs on every new instance before it takes work.
 */
export async function startFleet(a: AutoscalerConfig, options: FleetOptions): Promise<Fleet> {
  const logger = options.logger;
  const connector = connectorSettingsOf(a.connectorConfig, 'connector_config');
  const pluginPath = await resolvePluginPath(a.plugin, { ...(options.configFile ? { configFile: options.configFile } : {}), ...(options.builtinPlugins ? { builtin: options.builtinPlugins } : {}) });
  const plugin = await runSupervisedPlugin(pluginPath, { logger, name: pluginName(a.plugin), ...(options.signal ? { signal: options.signal } : {}) });
  const ssh = new SshConnector({ settings: { ...connector, useExternalAddr: a.connectorConfig.useExternalAddr }, logger });
  let taskscaler: Taskscaler;
  try {
    const stateDir = a.stateStorage.dir || options.defaultStateDir;
    taskscaler = await createTaskscaler(
      plugin.group,
      {
        capacityPerInstance: a.capacityPerInstance,
        maxUseCount: a.maxUseCount,
        maxInstances: a.maxInstances,
        instanceAcquireTimeoutMs: a.instanceAcquireTimeoutMs,
        updateIntervalMs: a.updateIntervalMs,
        updateIntervalWhenExpectingMs: a.updateIntervalWhenExpectingMs,
        deletionRetryIntervalMs: a.deletionRetryIntervalMs,
        shutdownDeletionIntervalMs: a.shutdownDeletionIntervalMs,
        shutdownDeletionRetries: a.shutdownDeletionRetries,
        failureThreshold: a.failureThreshold,
        reservationThrottling: a.reservationThrottling,
        deleteInstancesOnShutdown: a.deleteInstancesOnShutdown,
        scaleThrottle: { limit: Number.isFinite(a.scaleThrottle.limitPerSecond) ? a.scaleThrottle.limitPerSecond : -1, burst: a.scaleThrottle.burst },
        stateStorage: { enabled: a.stateStorage.enabled && Boolean(stateDir), ...(stateDir ? { dir: stateDir } : {}), keepInstanceWithAcquisitions: a.stateStorage.keepInstanceWithAcquisitions },
        policies: a.policies,
        instanceGroup: { pluginConfig: a.pluginConfig, connector },
        histogramBuckets: {
          creationSeconds: a.buckets.instanceCreation,
          isRunningSeconds: a.buckets.instanceIsRunning,
          readinessSeconds: a.buckets.instanceReadiness,
          deletionSeconds: a.buckets.instanceDeletion,
          lifeSeconds: a.buckets.instanceLifeDuration,
        },
      },
      {
        logger,
        ...(options.signal ? { signal: options.signal } : {}),
        hooks: {
          ...(a.instanceReadyCommand || a.vmIsolation.enabled
            ? {
                instanceReady: async (instance, { signal }) => {
                  const conn = await ssh.connect(instance.connectInfo, { signal });
                  if (a.instanceReadyCommand) {
                    let out = '';
                    const res = await conn.exec(a.instanceReadyCommand, { signal, onStdout: (c) => (out += c.toString()), onStderr: (c) => (out += c.toString()) });
                    if (res.exitCode !== 0) {
                      throw new RunnerError('instance_unhealthy', `instance_ready_command on ${instance.id} exited ${res.exitCode ?? res.signal}: ${out.trim().slice(-500)}`);
                    }
                  }
                  if (a.vmIsolation.enabled) {
                    // No VM is reattached: whatever the daemon still runs is from before (a crash, a restart).
                    // Best effort: a daemon that cannot be reached now fails each job's VM creation with its reason.
                    try {
                      const removed = await removeLeftoverVms(conn, a.vmIsolation, { instanceId: instance.id, logger, signal });
                      if (removed > 0) logger.info('removed leftover nesting VMs', { instance: instance.id, count: removed });
                    } catch (err) {
                      logger.warn('listing leftover nesting VMs failed', { instance: instance.id, error: toRunnerError(err).message });
                    }
                  }
                },
              }
            : {}),
          heartbeat: (instance, { signal }) => plugin.group.heartbeat(instance.id, { signal }),
        },
      },
    );
  } catch (err) {
    ssh.shutdown();
    await plugin.stop();
    throw err;
  }
  // A restarted plugin process: update at once and follow up quickly (adopt what it reports, drop what is gone,
  // serve waiting jobs), then back to the configured interval.
  plugin.group.onRestart(() => {
    if (taskscaler.state === 'running') taskscaler.instancesChanged();
  });
  let stopping: Promise<void> | undefined;
  return {
    pluginPath,
    plugin,
    taskscaler,
    connector: ssh,
    stop: () =>
      (stopping ??= (async () => {
        try {
          await taskscaler.shutdown();
        } finally {
          ssh.shutdown();
          await plugin.stop();
        }
      })()),
  };
}
