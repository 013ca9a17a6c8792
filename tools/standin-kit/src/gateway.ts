import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type Client, type ConnectConfig, type Connection } from 'ssh2';
import { RunnerError, systemClock, type Logger } from '@fleetrunner/common';
import { proxyForward, proxySession } from './ssh-proxy.js';

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  instanceId: string;
  /** Addresses to listen on (private, and public when the instance has one). */
  addresses: readonly string[];
  port: number;
  /** Host private key (a format ssh2 reads). */
  hostKey: string;
  /** Decides whether `user` may log in with the public key `blob` now (pushed keys, key pairs, metadata keys). */
  allows(user: string, blob: Buffer): boolean;
  /** Decides whether `user` may log in with `password` (static credentials, as Azure's admin password); absent: no password logins. */
  allowsPassword?(user: string, password: string): boolean;
  /** How to log in to the machine behind the instance. */
  upstream(): Promise<ConnectConfig>;
  logger: Logger;
}

/** The SSH server of one stand-in instance. */
export interface Gateway {
  /** Stops listening and drops every connection (what a terminated instance does). Idempotent. */
  close(): void;
}

function verifies(blob: Buffer, data: Buffer, signature: Buffer, hashAlgo: string | undefined): boolean {
  const parsed = ssh2.utils.parseKey(blob);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return Boolean(key && !(key instanceof Error) && key.verify(data, signature, hashAlgo) === true);
}

function connectOnce(cfg: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const up = new ssh2.Client();
    let settled = false;
    // ssh2 may report a second error (a reset after a failed handshake): the listener stays for good.
    up.on('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    up.once('ready', () => {
      settled = true;
      resolve(up);
    });
    up.connect({ ...cfg, readyTimeout: 10_000 });
  });
}

/**
 * Logs in to the machine behind the instance. A connection dropped before its handshake (a loaded machine) is
 * retried twice after a short pause: the relay is the stand-in's own artefact, and should not fail where a real
 * instance would not.
 */
async function connectUpstream(config: Promise<ConnectConfig>): Promise<Client> {
  const cfg = await config;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectOnce(cfg);
    } catch (err) {
      const transient = err instanceof Error && /before handshake|EPIPE|ECONNRESET/.test(`${err.message} ${(err as NodeJS.ErrnoException).code ?? ''}`);
      if (!transient || attempt >= 3) throw err;
      await systemClock.sleep(50 * attempt);
    }
  }
}

/**
 * Serves one connection: public-key login decided by `allows`, then every session and forwarding channel is
 * relayed to the machine behind the instance over a connection of its own.
 */
function serveConnection(client: Connection, options: GatewayOptions, live: Set<Connection>): void {
  live.add(client);
  let upstream: Promise<Client> | undefined;
  client.on('error', () => {
    // a client that goes away abruptly is not an error of the instance
  });
  const methods: ('publickey' | 'password')[] = options.allowsPassword ? ['publickey', 'password'] : ['publickey'];
  client.on('authentication', (ctx) => {
    if (ctx.method === 'password' && options.allowsPassword) return options.allowsPassword(ctx.username, ctx.password) ? ctx.accept() : ctx.reject(methods);
    if (ctx.method !== 'publickey' || !options.allows(ctx.username, ctx.key.data)) return ctx.reject(methods);
    // Without a signature the client only asks whether the key would be accepted.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (verifies(ctx.key.data, ctx.blob, ctx.signature, ctx.hashAlgo)) ctx.accept();
    else ctx.reject(methods);
  });
  client.on('ready', () => {
    upstream = connectUpstream(options.upstream());
    upstream.then(
      (up) => {
        up.on('close', () => client.end());
        up.on('error', () => client.end());
      },
      (err: unknown) => {
        options.logger.warn('reaching the machine behind the instance failed', { id: options.instanceId, error: err instanceof Error ? err.message : String(err) });
        client.end();
      },
    );
    const up = upstream;
    client.on('session', (accept) => proxySession(accept(), up));
    client.on('tcpip', (accept, reject, info) =>
      proxyForward(accept, reject, up, (u, cb) => u.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, cb)),
    );
    client.on('openssh.streamlocal', (accept, reject, info) =>
      proxyForward(accept, reject, up, (u, cb) => u.openssh_forwardOutStreamLocal(info.socketPath, cb)),
    );
  });
  client.on('close', () => {
    live.delete(client);
    upstream?.then((u) => u.end(), () => undefined);
  });
}

function listen(server: NetServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts an instance's SSH server on every address; rejects (listening nowhere) when one cannot be bound. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const live = new Set<Connection>();
  // ssh2 clients use OpenSSH extensions (stream-local forwarding) only with servers that identify as OpenSSH.
  const ssh = new ssh2.Server({ hostKeys: [options.hostKey], ident: 'OpenSSH_9.0 fleetrunner-standin' }, (client) => serveConnection(client, options, live));
  const sockets = new Set<Socket>();
  const listeners = options.addresses.map(() =>
    createServer((sock) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
      sock.setNoDelay(true);
      ssh.injectSocket(sock);
    }),
  );
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const l of listeners) l.close();
    for (const c of live) c.end();
    for (const s of sockets) s.destroy();
  };
  try {
    await Promise.all(listeners.map((l, i) => listen(l, options.addresses[i]!, options.port)));
    for (const l of listeners) l.on('error', (err) => options.logger.warn('instance SSH listener failed', { id: options.instanceId, error: err.message }));
  } catch (err) {
    close();
    throw RunnerError.wrap(`listening on ${options.addresses.map((a) => `${a}:${options.port}`).join(', ')}`, err, 'unavailable');
  }
  return { close };
}
