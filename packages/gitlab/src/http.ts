import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { RunnerError, abortError, systemClock, nullLogger, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import { maskText } from './masker.js';
import { DEFAULT_MAX_ATTEMPTS, backoffDelay, isRetryableStatus, serverRetryDelay } from './retry.js';

/**
 * How long a request may go without progress before it fails with `timeout`, ms: from the start (or the last
 * body chunk handed to the socket) to the response headers. GitLab Runner's network client uses a response
 * header timeout of 10 minutes (network/client.go `ResponseHeaderTimeout`). Once the headers are in, Node's
 * fetch ends a response body that stalls for 300 s.
 */
export const DEFAULT_RESPONSE_HEADER_TIMEOUT_MS = 10 * 60_000;

/** A request body; a factory is called once per attempt so retries resend the whole body. */
export type BodySource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** One call to the API. */
export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under `/api/v4/`, with its query (e.g. `jobs/12/trace?debug_trace=false`), or an absolute URL. */
  path: string;
  /** Endpoint name for logs and retry events (`request_job`, `patch_trace`, …). */
  endpoint: string;
  headers?: Record<string, string>;
  body?: () => BodySource;
  /** Retry retryable statuses (default true). */
  retry?: boolean;
  /** `manual` returns 3xx responses to the caller. Default `follow`. */
  redirect?: 'follow' | 'manual';
  /**
   * Values never quoted from this request's responses (see {@link messageOf}), besides the `JOB-TOKEN`,
   * `RUNNER-TOKEN` and `PRIVATE-TOKEN` header values and GitLab's token prefixes, which always are masked.
   */
  secrets?: readonly string[];
  signal?: AbortSignal;
  /** Told before each wait between two attempts of this request (besides the transport's `onRetry`). */
  onRetry?: (event: RetryEvent) => void;
}

/** Told of the response a request ended with (after its retries) and how long it took: for metrics. Must not throw. */
export interface ResponseEvent {
  endpoint: string;
  method: ApiRequest['method'];
  status: number;
  durationMs: number;
}

/** Told before each wait between two attempts. */
export interface RetryEvent {
  endpoint: string;
  method: string;
  /** The status that caused the retry. */
  status: number;
  /** 1-based number of the attempt that just failed. */
  attempt: number;
  /** How long the client waits before the next attempt, ms. */
  delayMs: number;
  /** Where the wait came from. */
  source: 'ratelimit-resettime' | 'retry-after' | 'backoff';
}

/** Transport options. */
export interface ApiTransportOptions {
  /** GitLab base URL; a trailing `/` and a legacy `/ci` suffix are removed. */
  url: string;
  clock?: Clock;
  logger?: Logger;
  /** `User-Agent` header. Default `gitlab-runner <version> (fleetrunner; node <v>; <os>/<arch>)`-like text. */
  userAgent?: string;
  /** Attempts per request. Default 5. */
  maxAttempts?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** See {@link DEFAULT_RESPONSE_HEADER_TIMEOUT_MS}; ms, default 10 minutes. */
  responseHeaderTimeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  onResponse?: (event: ResponseEvent) => void;
  /**
   * TLS material for every request (PEM texts, see `loadRunnerTls`): `ca` is trusted besides the system roots, as
   * GitLab Runner adds `tls-ca-file` to the system pool; `cert`/`key` are the client certificate.
   */
  tls?: { ca?: string; cert?: string; key?: string };
  /**
   * `connection_max_age`, ms: once this long has passed since the connection pool was made, the next request
   * starts a new pool and the old one closes once its requests end — no keep-alive connection older than this is
   * reused. ≤ 0: unlimited. Default 15 minutes, as GitLab Runner.
   */
  connectionMaxAgeMs?: number;
}

/** GitLab Runner's default `connection_max_age`. */
export const DEFAULT_CONNECTION_MAX_AGE_MS = 15 * 60_000;

/** Normalises a GitLab base URL as GitLab Runner does: only http(s), no trailing `/`, no legacy `/ci`. */
export function normalizeBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RunnerError('invalid_argument', `invalid GitLab URL ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RunnerError('invalid_argument', `GitLab URL must be http or https, got ${u.protocol}`);
  let s = u.toString().replace(/\/+$/, '');
  if (s.endsWith('/ci')) s = s.slice(0, -3);
  return s.replace(/\/+$/, '');
}

/**
 * HTTP to the runner API over Node's fetch: headers every call carries, retries of retryable statuses honouring
 * `RateLimit-ResetTime`/`Retry-After` (else exponential backoff) with waits on the injected Clock, a timeout on
 * every attempt (no progress for `responseHeaderTimeoutMs`), abort through `signal`, and remembering
 * `X-GitLab-Last-Update`.
 */
export class ApiTransport {
  readonly baseUrl: string;
  readonly apiUrl: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly userAgent: string;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly headerTimeoutMs: number;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly onResponse: ((event: ResponseEvent) => void) | undefined;
  private readonly connect: { ca?: string[]; cert?: string; key?: string };
  private readonly maxAgeMs: number;
  private agent: Agent | undefined;
  private agentSince = 0;
  /** The last `X-GitLab-Last-Update` value seen on any response. */
  lastUpdate = '';

  constructor(options: ApiTransportOptions) {
    this.baseUrl = normalizeBaseUrl(options.url);
    this.apiUrl = `${this.baseUrl}/api/v4/`;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.userAgent = options.userAgent ?? `gitlab-runner fleetrunner (main; node ${process.version}; ${process.platform}/${process.arch})`;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.random = options.random ?? Math.random;
    this.headerTimeoutMs = options.responseHeaderTimeoutMs ?? DEFAULT_RESPONSE_HEADER_TIMEOUT_MS;
    this.onRetry = options.onRetry;
    this.onResponse = options.onResponse;
    const tls = options.tls ?? {};
    this.connect = {
      ...(tls.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    };
    this.maxAgeMs = options.connectionMaxAgeMs ?? DEFAULT_CONNECTION_MAX_AGE_MS;
  }

  /** Connection pools made so far (a new one after each `connection_max_age`). */
  poolsCreated = 0;

  /** The connection pool for the next request: a new one once the current is older than `connection_max_age`. */
  private dispatcher(): Dispatcher {
    const now = this.clock.now();
    if (this.agent && this.maxAgeMs > 0 && now - this.agentSince > this.maxAgeMs) {
      const old = this.agent;
      this.agent = undefined;
      this.logger.debug('closing connections older than connection_max_age', { maxAgeMs: this.maxAgeMs });
      // Requests on the old pool finish; its connections close then and are never handed out again.
      old.close().catch(() => undefined);
    }
    if (!this.agent) {
      this.agent = new Agent({ connect: this.connect });
      this.agentSince = now;
      this.poolsCreated++;
    }
    return this.agent;
  }

  /** Closes the connection pool (requests in flight finish first). */
  async close(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    await a?.close().catch(() => undefined);
  }

  /**
   * Sends `req`, retrying retryable statuses; returns the last response (its body unread). Rejects with a
   * RunnerError (`connection_refused`/`unavailable`, `timeout` when no response came in time; `details.transport`
   * is true for all three) on transport failure, or the signal's reason on abort.
   */
  async send(req: ApiRequest): Promise<Response> {
    const url = /^https?:\/\//.test(req.path) ? req.path : this.apiUrl + req.path;
    const started = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      const res = await this.once(url, req);
      responseSecrets.set(res, secretsOf(req));
      this.rememberLastUpdate(res);
      if (req.retry === false || attempt >= this.maxAttempts || !isRetryableStatus(res.status)) {
        this.onResponse?.({ endpoint: req.endpoint, method: req.method, status: res.status, durationMs: this.clock.now() - started });
        return res;
      }
      await discard(res);
      const hint = serverRetryDelay(res.headers, this.clock.now());
      const delayMs = hint?.delayMs ?? backoffDelay(attempt - 1, this.random);
      const source = hint?.source ?? 'backoff';
      this.logger.info('waiting before making the next call', { endpoint: req.endpoint, status: res.status, attempt, delayMs });
      const event: RetryEvent = { endpoint: req.endpoint, method: req.method, status: res.status, attempt, delayMs, source };
      this.onRetry?.(event);
      req.onRetry?.(event);
      await this.clock.sleep(delayMs, req.signal ? { signal: req.signal } : {});
    }
  }

  private async once(url: string, req: ApiRequest): Promise<Response> {
    const headers: Record<string, string> = {
      'User-Agent': this.userAgent,
      'X-Request-Id': randomBytes(16).toString('hex'),
      ...req.headers,
    };
    const stall = new StallTimer(this.clock, this.headerTimeoutMs);
    const body = req.body?.();
    const signal = req.signal ? AbortSignal.any([req.signal, stall.signal]) : stall.signal;
    const init: RequestInit & { duplex?: 'half'; dispatcher: Dispatcher } = { method: req.method, headers, redirect: req.redirect ?? 'follow', signal, dispatcher: this.dispatcher() };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
      else {
        init.body = Readable.from(stall.track(body)) as unknown as AsyncIterable<Uint8Array>;
        init.duplex = 'half';
      }
    }
    try {
      // undici's own fetch with its Agent (the global fetch may be another undici version than the dispatcher).
      return (await undiciFetch(url, init as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal);
      if (stall.fired) throw timeoutError(req, url, this.headerTimeoutMs, err);
      throw transportError(req, url, err);
    } finally {
      stall.clear();
    }
  }

  private rememberLastUpdate(res: Response): void {
    const v = res.headers.get('x-gitlab-last-update');
    if (v) this.lastUpdate = v;
  }
}

/** Reads and drops a response body so the connection can be reused. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // the body may already be consumed or the connection gone; nothing to free then
  }
}

/** The secrets a request carries, by the responses it got: what {@link messageOf} masks. */
const responseSecrets = new WeakMap<Response, readonly string[]>();

function secretsOf(req: ApiRequest): string[] {
  const h = req.headers ?? {};
  return [h['JOB-TOKEN'], h['RUNNER-TOKEN'], h['PRIVATE-TOKEN'], ...(req.secrets ?? [])].filter((s): s is string => typeof s === 'string' && s !== '');
}

/** Longest body excerpt quoted in an error message, characters. */
const MAX_QUOTED_CHARS = 200;

/**
 * The server's error message, for error texts and log lines: the JSON `message`/`error`, else the first 200
 * characters of the body. This is the only place that quotes a response body, and it masks what it quotes: the
 * tokens the request carried, the values in `ApiRequest.secrets`, and every token with one of GitLab's prefixes
 * (`glrt-`, `glcbt-`, …). A 2xx body is never quoted: it is a payload (a job response holds the job token,
 * variables and credentials), not a message.
 */
export async function messageOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return '';
  const mask = (s: string): string => maskText(s, responseSecrets.get(res) ?? []);
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null) {
      const m = (v as Record<string, unknown>)['message'] ?? (v as Record<string, unknown>)['error'];
      if (typeof m === 'string') return mask(m).slice(0, MAX_QUOTED_CHARS);
      if (m !== undefined) return mask(JSON.stringify(m)).slice(0, MAX_QUOTED_CHARS);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return mask(text).slice(0, MAX_QUOTED_CHARS);
}

/**
 * The deadline of one attempt: it fires when nothing happened for `ms` — no response headers, and no request body
 * chunk taken since the start or the last chunk (a large upload is not cut off while it moves). One timer per
 * attempt, re-armed lazily.
 */
class StallTimer {
  private readonly controller = new AbortController();
  private timer: Timer | undefined;
  private last: number;
  private done = false;
  fired = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
  ) {
    this.last = clock.now();
    this.arm(ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Passes `body` through, counting each chunk as progress. */
  async *track(body: Readable | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      this.last = this.clock.now();
      yield chunk;
    }
    this.last = this.clock.now();
  }

  clear(): void {
    this.done = true;
    this.timer?.clear();
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.done) return;
      const idle = this.clock.now() - this.last;
      if (idle < this.ms) return this.arm(this.ms - idle);
      this.fired = true;
      this.controller.abort(new RunnerError('timeout', `no response within ${this.ms / 1000}s`));
    }, ms);
  }
}

function timeoutError(req: ApiRequest, url: string, ms: number, err: unknown): RunnerError {
  const where = url.split('?')[0] ?? url;
  return new RunnerError('timeout', `${req.method} ${where}: no response within ${ms / 1000}s`, { cause: err, details: { endpoint: req.endpoint, transport: true } });
}

function transportError(req: ApiRequest, url: string, err: unknown): RunnerError {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : '';
  const message = cause instanceof Error ? cause.message : String(cause);
  const where = url.split('?')[0] ?? url;
  const hint = TLS_TRUST_CODES.has(code) ? ` (${code}): the TLS certificate of ${hostOf(url)} is not trusted — set tls-ca-file, or put its CA in <config dir>/certs/${hostOf(url)}.crt` : '';
  return new RunnerError(code === 'ECONNREFUSED' ? 'connection_refused' : 'unavailable', `${req.method} ${where}: ${message}${hint}`, {
    cause: err,
    details: { endpoint: req.endpoint, transport: true },
  });
}

/** Node's codes for a server certificate that does not chain to a trusted CA. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}
