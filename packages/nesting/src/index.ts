export {
  connect,
  unixSocketDialer,
  type StreamDialer,
  type NestingApi,
  type NestingClient,
  type NestingCallOptions,
  type CreateResult,
} from './client.js';
export { withLazyInit, lazyInitClient } from './lazy-init.js';
export {
  NestingError,
  NotInitializedError,
  AlreadyInitializedError,
  NestingStatus,
  NOT_INITIALIZED_MESSAGE,
  ALREADY_INITIALIZED_MESSAGE,
  invalidArgument,
  notFound,
  deadlineExceeded,
  fromServiceError,
  statusOf,
} from './errors.js';
export type { Hypervisor, HypervisorInfo, VirtualMachine } from './hypervisor.js';
export { serve, parseInitConfig, NestingService, nestingImplementation, type ServeOptions, type NestingServer } from './server.js';
export { defaultSocketPath, userConfigDir, socketPathOfTarget } from './socket-path.js';
/** gRPC status codes (grpc-js's `status`), for comparing NestingError.status. */
export { status as GrpcStatus } from '@grpc/grpc-js';
