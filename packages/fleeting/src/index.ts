export type { InstanceGroup, CallOptions } from './instance-group.js';
export {
  defaultConnectorConfig,
  INSTANCE_STATES,
  type Protocol,
  type ConnectorConfig,
  type InitSettings,
  type ProviderInfo,
  type InstanceState,
  type InstanceStatus,
  type ConnectInfo,
  type IncreaseResult,
  type DecreaseResult,
} from './types.js';
export { GrpcInstanceGroup, type PluginChannel, type GrpcInstanceGroupOptions } from './grpc-client.js';
export { instanceGroupService, parsePluginConfig, type InstanceGroupServiceOptions } from './grpc-server.js';
export {
  ERROR_CODE_METADATA_KEY,
  statusFromError,
  errorFromCall,
  metadataErrorCode,
  toPluginError,
  fromPluginError,
} from './errors.js';
export {
  serveInstanceGroup,
  versionBlock,
  buildInfoString,
  type PluginVersionInfo,
  type ServeInstanceGroupOptions,
} from './serve-instance-group.js';
export { runPlugin, type RunPluginOptions, type RunningPlugin } from './run-plugin.js';
export { SupervisedInstanceGroup, runSupervisedPlugin, type SupervisedPluginOptions, type SupervisorState } from './supervised-group.js';
export * from './conformance/index.js';
export { generateEd25519, publicKeyLineOf, type SshKeyPair } from './ssh-keys.js';
export { pluginConfigObject, readStringKeys, checkForm, throwConfigProblems, type StringKeysSpec, type StringKeysRead } from './plugin-config.js';
export {
  retryCloudCall,
  wrapCloudError,
  shapedErrors,
  type CloudRetryPolicy,
  type CloudErrors,
  type CloudRetryOptions,
  type CloudErrorText,
  type ErrorShapeReading,
} from './cloud-retry.js';
export { packageVersion } from './package-version.js';
export {
  GroupLifecycle,
  knownInstance,
  heartbeatFromKnown,
  vanished,
  increaseCapacity,
  decreaseGroup,
  planDecrease,
  decreaseOutcome,
  type KnownInstance,
  type CapacityControl,
  type DecreasePlan,
} from './group-kit.js';
