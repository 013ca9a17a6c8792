/**
 * The typed, defaulted `config.toml`. Field names are camelCase forms of the TOML keys; every duration is in
 * milliseconds (suffix `Ms`); a zero or absent value has already been replaced by the documented default.
 */

/** Log levels `log_level` accepts (logrus names; `warning` is read as `warn`). */
export type ConfigLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'panic';

/** `log_format`: `runner` (coloured text), `text`, `json`. */
export type ConfigLogFormat = 'runner' | 'text' | 'json';

/** The whole file: global keys and the `[[runners]]` entries. */
export interface RunnerConfig {
  /** Max jobs running at once across all runners. Default 1; must be ≥ 1. */
  concurrent: number;
  /** Feed-loop period in ms (TOML: integer seconds). Default 3000; ≤ 0 → default. */
  checkIntervalMs: number;
  /** Bound for forceful shutdown and for stopping the autoscalers, in ms (TOML: integer seconds). Default 30000. */
  shutdownTimeoutMs: number;
  /** Metrics/debug listen address as `host:port` (port 9252 added when missing); '' = disabled. */
  listenAddress: string;
  /** Default 'info'. The CLI flag wins over it. */
  logLevel: ConfigLogLevel;
  /** Default 'runner'. The CLI flag wins over it. */
  logFormat: ConfigLogFormat;
  /** Max age of keep-alive connections to GitLab in ms. Default 15 min; set ≤ 0 → 0 = unlimited. */
  connectionMaxAgeMs: number;
  /** Sentry DSN; '' = off. Falls back to env `SENTRY_DSN`. */
  sentryDsn: string;
  /** Global default labels, merged under each runner's labels. */
  labels: Record<string, string>;
  runners: RunnerEntry[];
  /** Where the config came from: `file` as named to the loader, `dir` its absolute directory. */
  source: { file: string; dir: string };
}

/** One `[[runners]]` entry. */
export interface RunnerEntry {
  /** Description; informational. Default ''. */
  name: string;
  /** GitLab base URL after `$VAR` expansion, as written otherwise (the API client strips `/` and `/ci`). */
  url: string;
  /** Runner ID from registration; 0 = unknown (the token keys the autoscaler then). */
  id: number;
  /** Runner authentication token after `$VAR` expansion. Never log it. */
  token: string;
  /** When the token was obtained / expires, ms since the epoch; undefined = unknown (TOML zero time included). */
  tokenObtainedAt: number | undefined;
  tokenExpiresAt: number | undefined;
  tlsCaFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Always `instance` in a valid config. */
  executor: string;
  /** Max concurrent jobs of this entry; 0 = unlimited. */
  limit: number;
  /** Max concurrent job requests. Default 1. */
  requestConcurrency: number;
  /** True: wait `check_interval` after a job before polling again. Default false. */
  strictCheckInterval: boolean;
  /** Job log cap in KiB. Default 4096. */
  outputLimitKb: number;
  /** Default 'bash'. */
  shell: 'bash' | 'sh' | 'pwsh' | 'powershell';
  /** Root of checkouts; relative = under the SSH user's home. Default 'builds'. */
  buildsDir: string;
  /** Root of local cache archives; relative = under the SSH user's home. Default 'cache'. */
  cacheDir: string;
  /** Extra job variables as `KEY=VALUE` (entries without `=` are dropped with a warning). */
  environment: string[];
  preGetSourcesScript: string;
  postGetSourcesScript: string;
  preBuildScript: string;
  postBuildScript: string;
  /** Overrides the clone base URL; '' = the GitLab URL. */
  cloneUrl: string;
  /** Bounds of the prepare and get_sources stages in ms; 0 = the job timeout. */
  prepareTimeoutMs: number;
  getSourcesTimeoutMs: number;
  /** Consecutive failed job requests before the runner is skipped. Default 3. */
  unhealthyRequestsLimit: number;
  /** How long an unhealthy runner is skipped, in ms. Default 60 min. */
  unhealthyIntervalMs: number;
  /** Retries of the final job update. Default 10. */
  jobStatusFinalUpdateRetryLimit: number;
  debugTraceDisabled: boolean;
  /** Default true. */
  cleanGitConfig: boolean;
  /** Default false. */
  safeDirectoryCheckout: boolean;
  /** `[runners.custom_build_dir] enabled`: allow `GIT_CLONE_PATH`. Default false (upstream code for `instance`). */
  customBuildDirEnabled: boolean;
  useSlotCgroups: boolean;
  /** Default `gitlab-runner/slot-${slot}`. */
  slotCgroupTemplate: string;
  /** Labels of this runner merged over the global labels. */
  labels: Record<string, string>;
  /** `[runners.feature_flags]` as written; see `FEATURE_FLAG_DEFAULTS` for the rest. */
  featureFlags: Record<string, boolean>;
  /** `[runners.cache]`; undefined when absent. */
  cache: CacheConfig | undefined;
  artifact: ArtifactConfig;
  instance: InstanceConfig;
  /** `[runners.autoscaler]`; undefined when absent (an error for the `instance` executor). */
  autoscaler: AutoscalerConfig | undefined;
}

/** `[runners.artifact]`. */
export interface ArtifactConfig {
  /** Default 1 h. */
  uploadTimeoutMs: number;
  /** Default 10 min. */
  responseHeaderTimeoutMs: number;
}

/** `[runners.instance]`. */
export interface InstanceConfig {
  /** Doublestar globs of job images allowed under VM isolation; [] = any. */
  allowedImages: string[];
  /** Drop `<short-token>/<project>` from build paths; honoured only with VM isolation or `max_use_count = 1`. */
  useCommonBuildDir: boolean;
}

/** `[runners.autoscaler]`. */
export interface AutoscalerConfig {
  /** Fleeting plugin reference (`aws`, `aws:1.2`, `repo/name`, `registry/repo/name:c`, `fleeting-plugin-x`). */
  plugin: string;
  /** `plugin_config` as plain JSON data, handed to the plugin unvalidated. */
  pluginConfig: Record<string, unknown>;
  /** Job slots per instance. Default 1 (unset is warned about). */
  capacityPerInstance: number;
  /** Jobs per instance before it is retired; 0 = unlimited. */
  maxUseCount: number;
  /** Cap on instances in any state; 0 = unlimited. */
  maxInstances: number;
  /** Command run on each new instance before it takes work; '' = none. */
  instanceReadyCommand: string;
  /** Default 15 min. */
  instanceAcquireTimeoutMs: number;
  /** Default 1 min. */
  updateIntervalMs: number;
  /** Default 2 s. */
  updateIntervalWhenExpectingMs: number;
  /** Default 1 min. */
  deletionRetryIntervalMs: number;
  /** Default 10 s. */
  shutdownDeletionIntervalMs: number;
  /** Default 3. */
  shutdownDeletionRetries: number;
  /** Consecutive health failures before replacement. Default 3. */
  failureThreshold: number;
  /** Default true. */
  reservationThrottling: boolean;
  deleteInstancesOnShutdown: boolean;
  logInternalIp: boolean;
  logExternalIp: boolean;
  connectorConfig: ConnectorSettings;
  /** `[[runners.autoscaler.policy]]` in file order (the last matching one wins); [] = library default. */
  policies: AutoscalerPolicy[];
  scaleThrottle: ScaleThrottle;
  stateStorage: StateStorage;
  vmIsolation: VmIsolation;
  /** Histogram buckets in seconds; [] = library default. Per-kind lists fall back to `instance_operation_time_buckets`. */
  buckets: {
    instanceCreation: number[];
    instanceIsRunning: number[];
    instanceDeletion: number[];
    instanceReadiness: number[];
    instanceLifeDuration: number[];
  };
}

/**
 * `connector_config`, with the field names of `ConnectorConfig` in `@fleetrunner/fleeting` (which config may not
 * import) plus what the runner itself uses: `keyPath` (the runner reads the file) and `useExternalAddr`.
 */
export interface ConnectorSettings {
  /** '' = the plugin decides. */
  os: string;
  /** '' = the plugin decides. */
  arch: string;
  /** Default 'ssh'; 'winrm' when `os` is `windows`. */
  protocol: 'ssh' | 'winrm' | 'winrm+https';
  /** 0 = protocol default (22 / 5985 / 5986). */
  protocolPort: number;
  username: string;
  password: string;
  /** Private key file, as written (relative = to the working directory); '' = none. */
  keyPath: string;
  useStaticCredentials: boolean;
  /** 0 = library default. */
  keepaliveMs: number;
  /** 0 = library default. */
  timeoutMs: number;
  useExternalAddr: boolean;
}

/** One `[[runners.autoscaler.policy]]`. */
export interface AutoscalerPolicy {
  /** 5-field cron expressions; default `["* * * * *"]`. Validated at load. */
  periods: string[];
  /** IANA zone the periods are read in; '' = local time. */
  timezone: string;
  /** Target idle slots (jobs, not instances). Default 0. */
  idleCount: number;
  /** How long an idle instance may live, in ms. Default 0. */
  idleTimeMs: number;
  /** Extra idle capacity as a fraction of in-use capacity. Default 0. */
  scaleFactor: number;
  /** Cap of the scale-factor target; 0 = none. */
  scaleFactorLimit: number;
  /** Default `idleCount > 0`. */
  preemptiveMode: boolean;
}

/** `[runners.autoscaler.scale_throttle]`, resolved. */
export interface ScaleThrottle {
  /** Instance creations per second; `Infinity` when the file says -1. Default 100. */
  limitPerSecond: number;
  /** Token-bucket size. Default `max_instances`, or the limit when `max_instances` is 0. */
  burst: number;
}

/**
 * `[runners.autoscaler.state_storage]`. ON by default in fleetrunner (upstream: off) so that a restart keeps
 * the instances it already has; write `enabled = false` to get upstream's delete-on-start behaviour.
 */
export interface StateStorage {
  /** Default true (fleetrunner). */
  enabled: boolean;
  /** Absolute store root; default `<config dir>/.taskscaler`; a relative `dir` is taken from the config dir. */
  dir: string;
  keepInstanceWithAcquisitions: boolean;
}

/** `[runners.autoscaler.vm_isolation]`. */
export interface VmIsolation {
  enabled: boolean;
  /** Nesting daemon address as seen from the host, e.g. `unix:///…/nesting.sock`. */
  nestingHost: string;
  /** Sent as JSON in the daemon's `Init`. */
  nestingConfig: Record<string, unknown>;
  /** Default VM image; the job's `image:` wins. */
  image: string;
  connectorConfig: ConnectorSettings;
}

/** `[runners.cache]`. */
export interface CacheConfig {
  type: '' | 's3' | 'gcs' | 'azure';
  path: string;
  shared: boolean;
  /** Bytes; 0 = no limit. */
  maxUploadedArchiveSize: number;
  s3: CacheS3Config | undefined;
  gcs: CacheGcsConfig | undefined;
  azure: CacheAzureConfig | undefined;
}

export interface CacheS3Config {
  serverAddress: string;
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  bucketName: string;
  bucketLocation: string;
  insecure: boolean;
  /** '' = inferred (`access-key` when address and keys are set, else `iam`). */
  authenticationType: '' | 'iam' | 'access-key';
  serverSideEncryption: string;
  serverSideEncryptionKeyId: string;
  /** Default true. */
  dualStack: boolean;
  /** undefined = inferred from the address. */
  pathStyle: boolean | undefined;
  accelerate: boolean;
  roleArn: string;
  uploadRoleArn: string;
  /** Default 5; -1 = no limit. */
  assumeRoleMaxConcurrency: number;
}

export interface CacheGcsConfig {
  credentialsFile: string;
  accessId: string;
  privateKey: string;
  bucketName: string;
  universeDomain: string;
}

export interface CacheAzureConfig {
  accountName: string;
  accountKey: string;
  containerName: string;
  /** Default `blob.core.windows.net`. */
  storageDomain: string;
}
