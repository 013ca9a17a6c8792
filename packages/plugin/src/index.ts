export {
  CORE_PROTOCOL_VERSION,
  DEFAULT_MAGIC_COOKIE,
  DEFAULT_APP_VERSIONS,
  ENV,
  MAX_MESSAGE_BYTES,
  GRPC_OPTIONS,
  type MagicCookie,
} from './constants.js';
export { formatHandshake, parseHandshake, type Handshake } from './handshake.js';
export {
  methodDefinition,
  serviceDefinition,
  unaryService,
  unknownStatus,
  callUnary,
  isServiceError,
  type AnyMethodDef,
  type RequestOf,
  type ResponseOf,
  type GrpcService,
  type StatusLike,
  type UnaryContext,
  type UnaryHandler,
  type CallUnaryOptions,
} from './grpc-service.js';
export { createHclogLogger, hclogSink, hclogTimestamp, type HclogLoggerOptions } from './hclog.js';
export { LineSplitter, StderrInterpreter, StderrRelay, type RelayedLine } from './log-relay.js';
export { StdoutCapture, STDIO_CHUNK_BYTES } from './stdout-capture.js';
export { watchHost, type WatchHostOptions } from './lifeline.js';
export { serve, pickAppVersion, type ServeOptions, type StopReason } from './serve.js';
export { startPlugin, type StartPluginOptions } from './start-plugin.js';
export { type PluginClient, type PluginState, type PluginExit } from './plugin-client.js';
