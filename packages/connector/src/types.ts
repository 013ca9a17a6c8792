import type { Readable, Writable } from 'node:stream';
import type { ConnectInfo, ConnectorConfig } from '@fleetrunner/fleeting';

/** `[runners.autoscaler.connector_config]` as the runner holds it: the plugin's settings plus dial options. */
export interface ConnectorSettings extends Partial<ConnectorConfig> {
  /** Dial the external address when the plugin reports one. Default false. */
  useExternalAddr?: boolean;
}

/** Options of one exec. */
export interface ExecOptions {
  /**
   * Fed to the command's stdin, then stdin is closed. Default: stdin closed at once. The exec owns a stream: an
   * error of it fails the exec (the remote command is killed, the exec rejects with that error), and a stream not
   * read to its end when the command ends is destroyed.
   */
  stdin?: string | Uint8Array | Readable;
  /** Receives stdout chunks as they arrive. */
  onStdout?: (chunk: Buffer) => void;
  /**
   * Receives stdout with backpressure: while `write` returns false the channel is paused (the SSH window closes and
   * the remote command waits). Not ended by the exec. An error of this stream fails the exec as a stdin error does.
   */
  stdout?: Writable;
  /** Receives stderr chunks as they arrive. */
  onStderr?: (chunk: Buffer) => void;
  /**
   * Aborting closes the channel and kills the remote process group (TERM, then KILL after `killGraceMs`).
   * The exec then rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Time between TERM and KILL when aborted, ms. Default 2000. */
  killGraceMs?: number;
}

/** How a remote command ended. */
export interface ExecResult {
  /** Exit status; null when the command died of a signal. */
  exitCode: number | null;
  /** Signal name without `SIG` (e.g. `KILL`) when the command died of one. */
  signal?: string;
}

/** One authenticated connection to an instance, shared by every stage and job on it. */
export interface Connection {
  readonly instanceId: string;
  /** The address actually dialled (`host:port`). */
  readonly address: string;
  readonly state: 'open' | 'closed';
  /** Runs `command` through the login shell, streaming output; rejects on channel or connection failure. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Opens a TCP stream to `host:port` as seen from the instance (ssh `direct-tcpip`). */
  forwardTcp(host: string, port: number, options?: { signal?: AbortSignal }): Promise<import('node:stream').Duplex>;
  /** Opens a stream to the unix socket `path` on the instance (OpenSSH `direct-streamlocal@openssh.com`). */
  forwardUnix(path: string, options?: { signal?: AbortSignal }): Promise<import('node:stream').Duplex>;
  /** Closes the connection; idempotent. */
  close(): void;
}

/** Everything needed to reach one instance, after merging plugin ConnectInfo over connector settings. */
export interface DialTarget {
  info: ConnectInfo;
  host: string;
  port: number;
}
