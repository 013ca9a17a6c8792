import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunnerError, parseHostPort } from '@fleetrunner/common';

/** The content type of `/metrics`: Prometheus text, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What the HTTP endpoints read. */
export interface MetricsSource {
  /** Prometheus text for `/metrics` (exposition format 0.0.4). */
  metrics(): Promise<string>;
  /** `/health/ready`: true while the manager takes jobs. */
  ready(): boolean;
  /** `/debug/jobs/list`: one line per running job. */
  jobs(): string[];
}

/** A listening metrics server; `close()` is idempotent. */
export interface MetricsServer {
  /** `host:port` actually bound (the port is resolved when 0 was asked for). */
  readonly address: string;
  close(): Promise<void>;
}

/** Splits a `listen_address` (`host:port`, `[v6]:port`) into host and port. */
export function splitListenAddress(address: string): { host: string; port: number } {
  const p = parseHostPort(address);
  if ('error' in p || p.port === undefined || !/^\d+$/.test(p.port)) throw new RunnerError('invalid_argument', `listen_address: expected host:port, got ${JSON.stringify(address)}`);
  return { host: p.host, port: Number(p.port) };
}

/**
 * Serves `/metrics` (Prometheus text 0.0.4), `/health/ready` and `/debug/jobs/list` on `address`. An empty host
 * listens on every interface, as Go's `net.Listen(":9252")` does.
 */
export async function startMetricsServer(address: string, source: MetricsSource): Promise<MetricsServer> {
  const { host, port } = splitListenAddress(address);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      source.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(text),
        (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
    } else if (path === '/health/ready') {
      const ok = source.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else if (path === '/debug/jobs/list') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(source.jobs().map((l) => l + '\n').join(''));
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(RunnerError.wrap(`listening on ${address}`, err, 'unavailable')));
    server.listen(port, host === '' ? undefined : host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const bound = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  let closing: Promise<void> | undefined;
  return {
    address: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
