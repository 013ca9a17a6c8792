export { SshConnector, type SshConnectorOptions } from './connector.js';
export { SshConnection, DEFAULT_KILL_GRACE_MS } from './connection.js';
export { dialSsh, DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_KEEPALIVE_MS } from './dial.js';
export { HostKeyStore } from './host-keys.js';
export { dialTarget } from './merge.js';
export type { Connection, ConnectorSettings, ExecOptions, ExecResult, DialTarget } from './types.js';
