export * as fleetingV1 from './gen/fleeting_v1_instance_group.js';
export * as goplugin from './gen/goplugin_goplugin.js';
export * as nestingV1 from './gen/nesting_v1_nesting.js';
export * as healthV1 from './gen/grpc_health_v1_health.js';
export type { Codec, MethodDef, MessageInit } from './runtime.js';
