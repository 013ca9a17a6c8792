/** Remote access protocol of an instance. */
export type Protocol = 'ssh' | 'winrm' | 'winrm+https';

/**
 * How to reach instances: `[runners.autoscaler.connector_config]`, handed to the plugin at `init` and returned
 * (completed) by `connectInfo`. Durations are milliseconds; 0 keeps the documented default.
 */
export interface ConnectorConfig {
  /** `linux`, `windows`, `darwin`…; '' = plugin decides. */
  os: string;
  /** GOARCH-style names: `amd64`, `arm64`. */
  arch: string;
  protocol: Protocol;
  /** 0 = protocol default (ssh 22, winrm 5985, winrm+https 5986). */
  protocolPort: number;
  username: string;
  password: string;
  /** PEM private key bytes (the runner reads `key_path`). Empty = none. */
  key: Uint8Array;
  /** false = the plugin provisions credentials itself. */
  useStaticCredentials: boolean;
  /** SSH keepalive interval in ms; 0 = default. */
  keepaliveMs: number;
  /** Dial timeout in ms; 0 = default. */
  timeoutMs: number;
}

/** An all-defaults ConnectorConfig (`ssh`, everything else empty). */
export function defaultConnectorConfig(overrides: Partial<ConnectorConfig> = {}): ConnectorConfig {
  return {
    os: '',
    arch: '',
    protocol: 'ssh',
    protocolPort: 0,
    username: '',
    password: '',
    key: new Uint8Array(),
    useStaticCredentials: false,
    keepaliveMs: 0,
    timeoutMs: 0,
    ...overrides,
  };
}

/** What `init` receives. `pluginConfig` is the `[runners.autoscaler.plugin_config]` table as JSON. */
export interface InitSettings {
  pluginConfig: unknown;
  connector: ConnectorConfig;
}

/** What a plugin tells the host about itself. */
export interface ProviderInfo {
  /** Convention `<cloud>/<region>/<group>`, e.g. `aws/us-east-1/runners`. */
  id: string;
  /** Largest number of instances the group can hold. */
  maxSize: number;
  version: string;
  buildInfo: string;
  /** e.g. `suspend_resume`. */
  capabilities: string[];
}

/** Instance lifecycle states as plugins report them. `timeout` = broken; the host replaces it. */
export type InstanceState = 'creating' | 'running' | 'deleting' | 'deleted' | 'timeout';

export const INSTANCE_STATES: readonly InstanceState[] = ['creating', 'running', 'deleting', 'deleted', 'timeout'];

/** One instance as reported by `update`. */
export interface InstanceStatus {
  id: string;
  state: InstanceState;
}

/** How to connect to one instance. */
export interface ConnectInfo extends ConnectorConfig {
  id: string;
  /** Address reachable from inside the cloud network (IP or host name, optionally `host:port`). */
  internalAddr: string;
  /** Public address; may be ''. */
  externalAddr: string;
  /** When the credentials stop working (ms since epoch); undefined = no expiry. */
  expiresAt?: number;
}

/** Result of `increase`: how many of the requested instances were asked for successfully. */
export interface IncreaseResult {
  succeeded: number;
  /** Set when fewer than requested succeeded. */
  error?: Error;
}

/** Result of `decrease`: the ids whose deletion was accepted. */
export interface DecreaseResult {
  succeeded: string[];
  /** Set when some ids were not accepted. */
  error?: Error;
}
