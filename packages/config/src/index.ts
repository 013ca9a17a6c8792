export { loadConfig, parseConfig, firstInvalidUtf8, type LoadResult, type ParseOptions } from './load.js';
export { formatDiagnostic, formatDiagnostics, type Diagnostic } from './diagnostics.js';
export { diffConfig, type ConfigDiff } from './diff.js';
export { DEFAULTS } from './defaults.js';
export { VM_ISOLATION_NOTE, runsHere } from './rules.js';
export { DEFAULT_METRICS_PORT, normalizeListenAddress } from './listen-address.js';
export { FEATURE_FLAG_DEFAULTS, isFeatureFlagOn } from './feature-flags.js';
export { NOT_HONOURED_KEYS, notHonoured } from './not-honoured.js';
export { parseCron, isValidTimeZone, localTimeZone, type CronSchedule } from './cron.js';
export { expandEnv, type Env, type Expansion } from './env-expand.js';
export { parseToml, TomlSyntaxError } from './toml-parser.js';
export {
  tomlToPlain,
  describeNode,
  formatKey,
  type TomlNode,
  type TomlTable,
  type TomlArray,
  type TomlDateTime,
  type TomlTableKind,
  type TomlDateTimeKind,
} from './toml-nodes.js';
export type {
  RunnerConfig,
  RunnerEntry,
  ConfigLogLevel,
  ConfigLogFormat,
  ArtifactConfig,
  InstanceConfig,
  AutoscalerConfig,
  ConnectorSettings,
  AutoscalerPolicy,
  ScaleThrottle,
  StateStorage,
  VmIsolation,
  CacheConfig,
  CacheS3Config,
  CacheGcsConfig,
  CacheAzureConfig,
} from './types.js';
export { NEW_CONFIG_HEADER, readConfigText, writeConfigText, runnerBlock, runnerBlocks, removeRunnerBlocks, tomlString, type TomlValue, type RunnerBlock } from './config-file.js';
