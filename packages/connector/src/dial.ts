import net from 'node:net';
import { Client } from 'ssh2';
import { RunnerError, type Clock } from '@fleetrunner/common';
import type { HostKeyStore } from './host-keys.js';
import type { DialTarget } from './types.js';

/** Default dial timeout when connector_config.timeout is unset, ms. */
export const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
/** Default SSH keepalive interval when connector_config.keepalive is unset, ms. */
export const DEFAULT_KEEPALIVE_MS = 30_000;

function tcpConnect(host: string, port: number, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // TCP_NODELAY: without it, exec round trips on a reused connection stall on delayed ACKs (~50 ms each).
    const sock = net.connect({ host, port, noDelay: true });
    const fail = (err: RunnerError): void => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const timer = clock.setTimeout(() => fail(new RunnerError('timeout', `dialing ${host}:${port}: timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(new RunnerError('aborted', `dialing ${host}:${port}: aborted`));
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(new RunnerError(err.code === 'ECONNREFUSED' ? 'connection_refused' : 'unavailable', `dialing ${host}:${port}: ${err.message}`, { cause: err }));
    const cleanup = (): void => {
      timer.clear();
      signal?.removeEventListener('abort', onAbort);
      sock.off('error', onError);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('error', onError);
    sock.once('connect', () => {
      cleanup();
      resolve(sock);
    });
  });
}

/**
 * Opens an authenticated SSH connection. The host key is checked against `hostKeys` (trust on first use per
 * instance). Errors: `auth_failed`, `timeout`, `connection_refused`, `host_key_changed`, `unavailable`.
 */
export async function dialSsh(target: DialTarget, options: { hostKeys: HostKeyStore; clock: Clock; signal?: AbortSignal }): Promise<Client> {
  const { info, host, port } = target;
  const timeoutMs = info.timeoutMs || DEFAULT_DIAL_TIMEOUT_MS;
  const where = `${info.username}@${host}:${port} (instance ${info.id})`;
  const sock = await tcpConnect(host, port, timeoutMs, options.clock, options.signal);
  const client = new Client();
  let hostKeyRejected = false;
  return new Promise<Client>((resolve, reject) => {
    const onAbort = (): void => {
      client.end();
      sock.destroy();
      reject(new RunnerError('aborted', `connecting to ${where}: aborted`));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => options.signal?.removeEventListener('abort', onAbort);
    client.once('ready', () => {
      done();
      client.removeAllListeners('error');
      resolve(client);
    });
    client.once('error', (err: Error & { level?: string }) => {
      done();
      sock.destroy();
      if (hostKeyRejected) {
        reject(new RunnerError('host_key_changed', `connecting to ${where}: host key changed (pinned ${options.hostKeys.get(info.id)}); refusing to connect`, { cause: err }));
      } else if (err.level === 'client-authentication') {
        reject(new RunnerError('auth_failed', `connecting to ${where}: authentication failed (${describeCredentials(target)})`, { cause: err }));
      } else if (err.level === 'client-timeout') {
        reject(new RunnerError('timeout', `connecting to ${where}: SSH handshake timed out after ${timeoutMs} ms`, { cause: err }));
      } else {
        reject(new RunnerError('unavailable', `connecting to ${where}: ${err.message}`, { cause: err }));
      }
    });
    client.connect({
      sock,
      username: info.username,
      ...(info.key.length > 0 ? { privateKey: Buffer.from(info.key) } : {}),
      ...(info.password ? { password: info.password } : {}),
      readyTimeout: timeoutMs,
      keepaliveInterval: info.keepaliveMs || DEFAULT_KEEPALIVE_MS,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const ok = options.hostKeys.verify(info.id, key);
        if (!ok) hostKeyRejected = true;
        return ok;
      },
    });
  });
}

function describeCredentials(target: DialTarget): string {
  const kinds = [target.info.key.length > 0 ? 'key' : '', target.info.password ? 'password' : ''].filter(Boolean);
  return kinds.length ? `tried ${kinds.join(' and ')}` : 'no key or password was provided';
}
