import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import { RunnerError } from '@fleetrunner/common';
import type { ConnectInfo } from '@fleetrunner/fleeting';

/** Output and end of one remote command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when it ended by a signal or without status. */
  code: number | null;
  /** Signal name without "SIG" (as SSH reports it), or null. */
  signal: string | null;
}

/** ssh2 connect settings for a fleeting ConnectInfo (internal address, its port, key or password). */
export function connectConfigOf(info: ConnectInfo): ConnectConfig {
  return {
    host: info.internalAddr,
    port: info.protocolPort || 22,
    username: info.username,
    ...(info.key.length > 0 ? { privateKey: Buffer.from(info.key) } : {}),
    ...(info.password ? { password: info.password } : {}),
    readyTimeout: 20_000,
  };
}

/** Connects a real ssh2 client (TCP_NODELAY on); rejects with the ssh2 error when the handshake or login fails. */
export function sshConnect(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => {
      client.removeAllListeners('error');
      client.on('error', () => {
        // later connection errors surface through the channels in use
      });
      client.setNoDelay(true);
      resolve(client);
    });
    client.once('error', (err) => {
      // A failed login may be followed by a reset of the same socket: swallow it, the caller has the first error.
      client.on('error', () => {});
      client.end();
      reject(err);
    });
    client.connect(config);
  });
}

/**
 * Runs `command` on an open connection and collects its output. `stdin` is written then closed (no stdin = EOF at
 * once); `env` goes out as `env` channel requests.
 */
export function sshExec(client: Client, command: string, options: { env?: Record<string, string>; stdin?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, options.env ? { env: options.env } : {}, (err, stream) => {
      if (err) {
        reject(RunnerError.wrap(`running ${JSON.stringify(command)}`, err, 'channel_open_failed'));
        return;
      }
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | null = null;
      let signal: string | null = null;
      stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => errOut.push(d));
      stream.on('exit', (c: number | null, s?: string) => {
        code = typeof c === 'number' ? c : null;
        signal = s ?? null;
      });
      stream.on('close', () =>
        resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString(), code, signal }),
      );
      stream.end(options.stdin ?? '');
    });
  });
}
