import * as grpc from '@grpc/grpc-js';
import { RunnerError, linkSignals, nullLogger, type Logger } from '@fleetrunner/common';
import { fleetingV1 } from '@fleetrunner/proto';
import { callUnary, isServiceError, type AnyMethodDef, type ResponseOf } from '@fleetrunner/plugin';
import { errorFromCall, fromPluginError, metadataErrorCode } from './errors.js';
import { connectInfoFromWire, connectorToWire, providerInfoFromWire, stateFromWire } from './grpc-convert.js';
import type { CallOptions, InstanceGroup } from './instance-group.js';
import type { ConnectInfo, DecreaseResult, IncreaseResult, InitSettings, InstanceStatus, ProviderInfo } from './types.js';

/** What the client adapter needs of a plugin connection; `PluginClient` from @fleetrunner/plugin fits. */
export interface PluginChannel {
  readonly client: grpc.Client;
  /** Aborts when the plugin process is gone; every call is linked to it so none can hang. */
  readonly deadSignal: AbortSignal;
  /** Turns a transport failure into the plugin's death when that is what happened (see PluginClient). */
  explainError?(err: unknown): Promise<unknown>;
}

/** Options of {@link GrpcInstanceGroup}. */
export interface GrpcInstanceGroupOptions {
  logger?: Logger;
}

const S = fleetingV1.InstanceGroupService;

/**
 * The InstanceGroup of a plugin process, over the fleeting gRPC contract. Errors come back as RunnerErrors with
 * the code the plugin gave (`fleeting-error-code`), `plugin_crashed` when the process died, `aborted` when the
 * caller's signal fired. Partial success of increase/decrease is returned, not thrown.
 */
export class GrpcInstanceGroup implements InstanceGroup {
  private readonly logger: Logger;

  constructor(
    private readonly plugin: PluginChannel,
    options: GrpcInstanceGroupOptions = {},
  ) {
    this.logger = options.logger ?? nullLogger;
  }

  /** The options' logger is for in-process plugins; a plugin process logs through its stderr. */
  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    const json = JSON.stringify(settings.pluginConfig ?? {});
    const request = { pluginConfigJson: new TextEncoder().encode(json), connectorConfig: connectorToWire(settings.connector) };
    const res = await this.call(S.init, request, 'initializing plugin', options);
    return providerInfoFromWire(res.info);
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    const res = await this.call(S.update, {}, 'updating instances', options);
    const out: InstanceStatus[] = [];
    for (const i of res.instances) {
      const state = stateFromWire(i.state);
      if (state) out.push({ id: i.id, state });
      else this.logger.debug('skipping instance in an unknown state', { id: i.id, state: i.state });
    }
    return out;
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    const res = await this.call(S.increase, { delta }, `increasing instances by ${delta}`, options);
    const error = fromPluginError(res.error);
    return error ? { succeeded: res.succeeded, error } : { succeeded: res.succeeded };
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    const res = await this.call(S.decrease, { ids: [...ids] }, `decreasing instances (${ids.length})`, options);
    const error = fromPluginError(res.error);
    return error ? { succeeded: res.succeeded, error } : { succeeded: res.succeeded };
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    const context = `getting connect info for instance ${id}`;
    const res = await this.call(S.connectInfo, { id }, context, options);
    try {
      return connectInfoFromWire(res);
    } catch (err) {
      throw RunnerError.wrap(`${context}: plugin sent an invalid answer`, err, 'plugin_error');
    }
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    await this.callOptional(S.heartbeat, { id }, `checking heartbeat of instance ${id}`, options);
  }

  async shutdown(options: CallOptions = {}): Promise<void> {
    await this.callOptional(S.shutdown, {}, 'shutting down plugin', options);
  }

  /** Plugins built before Heartbeat/Shutdown existed answer UNIMPLEMENTED (without our code): success. */
  private async callOptional<M extends AnyMethodDef>(method: M, request: Parameters<M['request']['encode']>[0], context: string, options: CallOptions): Promise<void> {
    try {
      await this.call(method, request, context, options);
    } catch (err) {
      const cause = err instanceof RunnerError ? err.cause : undefined;
      if (isServiceError(cause) && cause.code === grpc.status.UNIMPLEMENTED && metadataErrorCode(cause) === undefined) {
        this.logger.debug('plugin does not implement the method, treating it as success', { method: method.path });
        return;
      }
      throw err;
    }
  }

  private async call<M extends AnyMethodDef>(method: M, request: Parameters<M['request']['encode']>[0], context: string, options: CallOptions): Promise<ResponseOf<M>> {
    const linked = linkSignals(options.signal, this.plugin.deadSignal);
    try {
      return await callUnary(this.plugin.client, method, request, { signal: linked.signal });
    } catch (err) {
      if (isServiceError(err) && metadataErrorCode(err) === undefined && this.plugin.explainError) {
        const explained = await this.plugin.explainError(err);
        if (explained !== err) throw RunnerError.wrap(context, explained);
      }
      throw errorFromCall(err, context);
    } finally {
      linked.dispose();
    }
  }
}
