import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { RunnerError, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { AddressPool } from './addresses.js';

/** The whole body of a request, refused (the socket destroyed) beyond `limit` bytes (default 1 MiB). */
export function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Fails early and clearly when instances could not listen on their SSH port (e.g. port 22 without root). */
export async function checkSshPort(pool: AddressPool, port: number): Promise<void> {
  const ip = pool.take();
  if (!ip) throw new RunnerError('invalid_argument', `subnet ${pool.cidr} has no usable address`);
  try {
    await new Promise<void>((resolve, reject) => {
      const srv = createNetServer();
      srv.once('error', reject);
      srv.listen({ host: ip, port, exclusive: true }, () => srv.close(() => resolve()));
    });
  } catch (err) {
    throw RunnerError.wrap(`instances cannot listen on ${ip}:${port} (choose another sshPort and set connector_config.protocol_port to it)`, err, 'invalid_argument');
  } finally {
    pool.release(ip);
  }
}

/** What a stand-in does with a request and its whole body. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => void;

/** A request listener that reads the whole body, then hands it to `handle` (URLs resolved against `base`). */
export function withBody(base: string, handle: RequestHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', base);
    readBody(req).then(
      (body) => handle(req, res, url, body),
      () => res.destroy(),
    );
  };
}

/** Starts `server` listening on `host:port` (0 = ephemeral); resolves once it listens. */
export async function listenOn<S extends NetServer>(server: S, host: string, port: number): Promise<S> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** An HTTP server on `host:port` (0 = ephemeral) that hands each request with its whole body to `handle`. */
export function listenHttp(host: string, port: number, handle: RequestHandler): Promise<Server> {
  return listenOn(createServer(withBody('http://standin', handle)), host, port);
}

/** The port a listening server got. */
export function portOf(server: Server): number {
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/** Stops serving: drops every connection and waits until the server is closed. */
export async function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Runs `tick` every `tickMs` (serialized: one round at a time) until `signal` aborts; a failed round is logged. */
export async function runLifecycle(tick: () => Promise<void>, clock: Clock, tickMs: number, signal: AbortSignal, logger: Logger): Promise<void> {
  while (!signal.aborted) {
    try {
      await tick();
    } catch (err) {
      logger.warn('lifecycle round failed', { error: toRunnerError(err).message });
    }
    await clock.sleep(tickMs, { signal }).catch(() => undefined);
  }
}
