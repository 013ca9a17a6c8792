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
export * from './conformance/index.js';
