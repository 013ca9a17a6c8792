import type { Logger } from '@fleetrunner/common';
import type {
  ConnectInfo,
  DecreaseResult,
  IncreaseResult,
  InitSettings,
  InstanceStatus,
  ProviderInfo,
} from './types.js';

/** Options every InstanceGroup call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * A group of cloud instances that grows and shrinks on request. Implemented by every fleeting plugin, and by the
 * gRPC client that talks to a plugin process, so the host cannot tell in-process from out-of-process.
 *
 * Errors are `RunnerError`s; `instance_unhealthy` and `instance_not_found` keep their codes across the wire.
 */
export interface InstanceGroup {
  /**
   * Validates the plugin configuration, creates cloud clients and provisions credentials. Called once, first.
   * Errors name the offending plugin_config key.
   */
  init(settings: InitSettings, options?: CallOptions & { logger?: Logger }): Promise<ProviderInfo>;

  /** Every instance of the group with its state. Instances missing from the list are gone. */
  update(options?: CallOptions): Promise<InstanceStatus[]>;

  /** Requests `delta` more instances. Partial success is reported, not thrown. */
  increase(delta: number, options?: CallOptions): Promise<IncreaseResult>;

  /** Deletes the given instances. Returns the ids accepted; partial success is reported, not thrown. */
  decrease(ids: readonly string[], options?: CallOptions): Promise<DecreaseResult>;

  /** Addresses and credentials for one instance. Call before every new connection; never cache across restarts. */
  connectInfo(id: string, options?: CallOptions): Promise<ConnectInfo>;

  /** Cheap health check; rejects with code `instance_unhealthy` when the instance is broken. */
  heartbeat(id: string, options?: CallOptions): Promise<void>;

  /** Releases plugin-owned resources (uploaded keys, clients). Does not delete instances. Idempotent. */
  shutdown(options?: CallOptions): Promise<void>;
}
