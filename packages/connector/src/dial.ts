import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
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
export async function dialSsh(
  target: DialTarget,
  options: { hostKeys: HostKeyStore; clock: Clock; signal?: AbortSignal; via?: (signal?: AbortSignal) => Promise<Duplex> },
): Promise<Client> {
  // ssh2 is loaded with the first connection: a manager without instances (or `runner --version`) never loads it.
  const ssh2 = await import('ssh2');
  const { info, host, port } = target;
  const timeoutMs = info.timeoutMs || DEFAULT_DIAL_TIMEOUT_MS;
  const where = `${info.username}@${host}:${port} (instance ${info.id})`;
  // An 'abort' listener added to an already aborted signal never fires.
  if (options.signal?.aborted) throw new RunnerError('aborted', `connecting to ${where}: aborted`);
  // `via`: a stream another connection opened (a VM reached through its host), else a TCP connection.
  const sock: Duplex = options.via ? await viaStream(options.via, where, timeoutMs, options.clock, options.signal) : await tcpConnect(host, port, timeoutMs, options.clock, options.signal);
  const client = new ssh2.Client();
  let hostKeyRejected = false;
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const settle = (err?: RunnerError): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.off('close', onClose);
      if (err === undefined) {
        resolve(client);
        return;
      }
      client.end();
      sock.destroy();
      reject(err);
    };
    const onAbort = (): void => settle(new RunnerError('aborted', `connecting to ${where}: aborted`));
    // ssh2 stops its handshake timer when the socket closes and may emit no error (a server that drops the
    // connection after its banner): without this the dial would never settle.
    const onClose = (): void => settle(new RunnerError('unavailable', `connecting to ${where}: the server closed the connection during the SSH handshake`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    client.once('ready', () => {
      client.removeAllListeners('error');
      settle();
    });
    client.on('close', onClose);
    // `on`, not `once`: one failure can emit several errors (a reset is followed by "Instance unusable after fatal
    // error"), and an 'error' without a listener would crash the process. The first one decides.
    client.on('error', (err: Error & { level?: string }) => {
      if (hostKeyRejected) {
        settle(new RunnerError('host_key_changed', `connecting to ${where}: host key changed (pinned ${options.hostKeys.get(info.id)}); refusing to connect`, { cause: err }));
      } else if (err.level === 'client-authentication') {
        settle(new RunnerError('auth_failed', `connecting to ${where}: authentication failed (${describeCredentials(target)})`, { cause: err }));
      } else if (err.level === 'client-timeout') {
        settle(new RunnerError('timeout', `connecting to ${where}: SSH handshake timed out after ${timeoutMs} ms`, { cause: err }));
      } else {
        settle(new RunnerError('unavailable', `connecting to ${where}: ${err.message}`, { cause: err }));
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

async function viaStream(open: (signal?: AbortSignal) => Promise<Duplex>, where: string, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<Duplex> {
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimeout(() => ctl.abort(new RunnerError('timeout', `connecting to ${where}: timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    return await open(ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted && ctl.signal.reason instanceof RunnerError) throw ctl.signal.reason;
    throw RunnerError.wrap(`connecting to ${where}`, err, 'unavailable');
  } finally {
    timer.clear();
    signal?.removeEventListener('abort', onAbort);
  }
}
