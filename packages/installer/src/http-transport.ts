import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { installerError } from './errors.js';

/** TLS and socket settings shared by every request to one registry (and its token realm and blob redirects). */
export interface TransportOptions {
  /**
   * PEM file with extra CA certificates to trust besides Node's bundled roots; default `$SSL_CERT_FILE` when set.
   */
  caFile?: string;
  /** Idle socket timeout in milliseconds; default 60 000. */
  timeoutMs?: number;
  /** Default `fleetrunner-installer`. */
  userAgent?: string;
}

/** A request body: bytes, or a factory so the body can be sent again after an auth challenge. */
export type RequestBody = Buffer | (() => Readable);

const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** True for the error an HTTPS client meets when the server speaks plain HTTP. */
export function isTlsProtocolError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || code === 'ECONNRESET';
}

/** Keep-alive agents plus one request primitive that maps socket and TLS failures to installer errors. */
export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent: https.Agent;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: TransportOptions = {}) {
    const caFile = options.caFile ?? process.env['SSL_CERT_FILE'];
    let ca: string[] | undefined;
    if (caFile) {
      try {
        ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
      } catch (err) {
        throw installerError('tls', `reading CA file ${caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.httpsAgent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.userAgent = options.userAgent ?? 'fleetrunner-installer';
  }

  /**
   * Sends one request and resolves with the response head (any status). Rejects with `network` or `tls`
   * installer errors; the raw error stays the cause (its `code` is used for the HTTPS→HTTP fallback).
   */
  request(
    url: URL,
    init: { method: string; headers?: Record<string, string>; body?: RequestBody; signal?: AbortSignal },
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const mod = secure ? https : http;
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
      const body = typeof init.body === 'function' ? init.body() : init.body;
      if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
      const req = mod.request(url, { method: init.method, headers, agent: secure ? this.httpsAgent : this.httpAgent, signal: init.signal });
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(installerError('network', `no data from ${url.host} for ${this.timeoutMs} ms`));
      });
      req.on('response', resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError' || init.signal?.aborted) {
          reject(init.signal?.reason instanceof Error ? init.signal.reason : err);
          return;
        }
        if (TLS_VERIFY_CODES.has(err.code ?? '')) {
          reject(installerError('tls', `TLS with ${url.host}: ${err.message} (give the registry's CA with caFile or SSL_CERT_FILE)`, { cause: err }));
          return;
        }
        if (err instanceof Error && 'details' in err) {
          reject(err);
          return;
        }
        reject(installerError('network', `connecting to ${url.host}: ${err.message}`, { cause: err }));
      });
      if (body instanceof Readable) {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else req.end(body);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads a response body up to `max` bytes; throws `too_large` beyond. */
export async function readBody(res: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += c.length;
    if (n > max) throw installerError('too_large', `${what}: larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}

/** Discards a response body so that its socket returns to the pool. */
export function discard(res: http.IncomingMessage): void {
  res.resume();
}
