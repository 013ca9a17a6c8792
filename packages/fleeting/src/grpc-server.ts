import { RunnerError, nullLogger, type Logger } from '@fleetrunner/common';
import { fleetingV1 } from '@fleetrunner/proto';
import { unaryService, type GrpcService } from '@fleetrunner/plugin';
import { statusFromError, toPluginError } from './errors.js';
import { connectInfoToWire, connectorFromWire, providerInfoToWire, stateToWire } from './grpc-convert.js';
import type { InstanceGroup } from './instance-group.js';
import type { ProviderInfo } from './types.js';

/** Options of {@link instanceGroupService}. */
export interface InstanceGroupServiceOptions {
  /** Handed to the group's `init` (a plugin process: hclog JSON on stderr). */
  logger?: Logger;
  /** Fills `version` / `buildInfo` of the ProviderInfo when the group leaves them empty. */
  defaults?: Partial<Pick<ProviderInfo, 'version' | 'buildInfo'>>;
}

/** Parses `init`'s plugin_config JSON bytes; empty means `{}`, bad JSON is `invalid_argument`. */
export function parsePluginConfig(bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RunnerError('invalid_argument', `parsing plugin_config JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The fleeting gRPC service over an in-process InstanceGroup: what a plugin process registers. Errors travel as
 * statuses with `fleeting-error-code`; partial success of increase/decrease travels in the response.
 */
export function instanceGroupService(group: InstanceGroup, options: InstanceGroupServiceOptions = {}): GrpcService {
  const logger = options.logger ?? nullLogger;
  return unaryService(
    fleetingV1.InstanceGroupService,
    {
      init: async (req, { signal }) => {
        const settings = { pluginConfig: parsePluginConfig(req.pluginConfigJson), connector: connectorFromWire(req.connectorConfig) };
        const info = await group.init(settings, { signal, logger });
        return {
          info: providerInfoToWire({
            ...info,
            version: info.version || options.defaults?.version || '',
            buildInfo: info.buildInfo || options.defaults?.buildInfo || '',
          }),
        };
      },
      update: async (_req, { signal }) => {
        const list = await group.update({ signal });
        return { instances: list.map((i) => ({ id: i.id, state: stateToWire(i.state) })) };
      },
      increase: async (req, { signal }) => {
        const r = await group.increase(req.delta, { signal });
        return { succeeded: r.succeeded, error: toPluginError(r.error) };
      },
      decrease: async (req, { signal }) => {
        const r = await group.decrease(req.ids, { signal });
        return { succeeded: [...r.succeeded], error: toPluginError(r.error) };
      },
      connectInfo: async (req, { signal }) => connectInfoToWire(await group.connectInfo(req.id, { signal })),
      heartbeat: async (req, { signal }) => {
        await group.heartbeat(req.id, { signal });
        return {};
      },
      shutdown: async (_req, { signal }) => {
        await group.shutdown({ signal });
        return {};
      },
    },
    { toStatus: statusFromError },
  );
}
