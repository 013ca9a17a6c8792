/** The go-plugin core protocol version; both sides must agree on it exactly. */
export const CORE_PROTOCOL_VERSION = 1;

/** A go-plugin magic cookie: an environment variable the host sets so a plugin knows it was started by a host. */
export interface MagicCookie {
  key: string;
  value: string;
}

/**
 * fleetrunner's own cookie. Upstream fleeting's constants are not public, so this pair is ours; a host can start
 * plugins that expect another cookie by passing `cookie` to `startPlugin`.
 */
export const DEFAULT_MAGIC_COOKIE: Readonly<MagicCookie> = Object.freeze({
  key: 'FLEETRUNNER_PLUGIN_MAGIC_COOKIE',
  value: 'e1c0d8a4f3b2fleeting-v1',
});

/** App protocol versions spoken by default (host accepts, plugin serves). */
export const DEFAULT_APP_VERSIONS: readonly number[] = Object.freeze([1]);

/** Environment variable names of the go-plugin protocol. */
export const ENV = Object.freeze({
  protocolVersions: 'PLUGIN_PROTOCOL_VERSIONS',
  minPort: 'PLUGIN_MIN_PORT',
  maxPort: 'PLUGIN_MAX_PORT',
  clientCert: 'PLUGIN_CLIENT_CERT',
  unixSocketDir: 'PLUGIN_UNIX_SOCKET_DIR',
  unixSocketGroup: 'PLUGIN_UNIX_SOCKET_GROUP',
  multiplexGrpc: 'PLUGIN_MULTIPLEX_GRPC',
  /**
   * Ours, not go-plugin's: set to `stdin` by fleetrunner hosts to say "stdin is a pipe I hold; EOF means I died".
   * Without it a plugin does not treat stdin EOF as host death (a Go host hands its own stdin, often /dev/null).
   */
  lifeline: 'FLEETRUNNER_PLUGIN_LIFELINE',
});

/** Largest gRPC message either side accepts, as go-plugin configures it (bytes). */
export const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/**
 * grpc-js channel/server options of both sides: go-plugin's message limits, and channelz off (its per-call
 * bookkeeping costs about a fifth of a round trip's CPU on a local socket, and nothing here reads it).
 */
export const GRPC_OPTIONS = Object.freeze({
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.enable_channelz': 0,
});
