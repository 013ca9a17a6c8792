import { nullLogger, type Logger } from '@fleetrunner/common';
import { startPlugin, type MagicCookie, type PluginClient } from '@fleetrunner/plugin';
import { GrpcInstanceGroup } from './grpc-client.js';
import type { InstanceGroup } from './instance-group.js';

/** Options of {@link runPlugin}. */
export interface RunPluginOptions {
  /** Host logger; the plugin's stderr is re-logged under `plugin=<name>`. */
  logger?: Logger;
  /** The magic cookie the plugin expects; default fleetrunner's. */
  cookie?: MagicCookie;
  /** Spawn-to-ready budget in ms; default 60000. */
  startTimeoutMs?: number;
  /** Graceful stop budget in ms (shutdown RPC, then exit) before SIGKILL; default 2000. */
  stopTimeoutMs?: number;
  /** Extra environment for the plugin process. */
  env?: Record<string, string | undefined>;
  /** Name in logs; default the binary's base name. */
  name?: string;
  /** Aborts the start (the half-started process is killed and reaped). */
  signal?: AbortSignal;
}

/** A started plugin: the same InstanceGroup interface in-process and out-of-process. */
export interface RunningPlugin {
  group: InstanceGroup;
  /** The plugin process id (out-of-process only). */
  pid?: number;
  /** The transport handle (out-of-process only): ping, deadSignal, state. */
  process?: PluginClient;
  /**
   * Stops the plugin, idempotently. Out of process: `group.shutdown()` (best effort), then the graceful-then-forced
   * process stop. In process: `group.shutdown()`.
   */
  stop(): Promise<void>;
}

/**
 * Runs a fleeting plugin: a string is a plugin binary path (a child process over the go-plugin gRPC transport),
 * a factory makes an in-process InstanceGroup (no transport).
 */
export async function runPlugin(target: string | (() => InstanceGroup), options: RunPluginOptions = {}): Promise<RunningPlugin> {
  if (typeof target !== 'string') {
    const group = target();
    let stopping: Promise<void> | undefined;
    return { group, stop: () => (stopping ??= group.shutdown()) };
  }
  const logger = options.logger ?? nullLogger;
  const plugin = await startPlugin({
    path: target,
    name: options.name,
    logger,
    cookie: options.cookie,
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    env: options.env,
    signal: options.signal,
  });
  const group = new GrpcInstanceGroup(plugin, { logger: logger.child({ plugin: plugin.name }) });
  const stopTimeoutMs = options.stopTimeoutMs ?? 2000;
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (plugin.state === 'running') {
      await group.shutdown({ signal: AbortSignal.timeout(stopTimeoutMs) }).catch((err: unknown) => {
        logger.warn('shutting down plugin instance group', { plugin: plugin.name, error: err instanceof Error ? err.message : String(err) });
      });
    }
    await plugin.stop();
  };
  return { group, pid: plugin.pid, process: plugin, stop: () => (stopping ??= stop()) };
}
