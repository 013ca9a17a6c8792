import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
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

/** An HTTP server on `host:port` (0 = ephemeral) that hands each request with its whole body to `handle`. */
export async function listenHttp(
  host: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    readBody(req).then(
      (body) => handle(req, res, url, body),
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
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
