import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { splitHostPort, systemClock, type Clock } from '@fleetrunner/common';
import { readCredential, type Credential } from './credentials.js';
import { installerError } from './errors.js';
import { HttpTransport, discard, isTlsProtocolError, readBody, type RequestBody, type TransportOptions } from './http-transport.js';
import { MANIFEST_ACCEPT } from './manifest.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

/** How to reach and authenticate to registries. */
export interface RegistryOptions extends TransportOptions {
  /** Docker config file for credentials; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfig?: string;
  /** Overrides the Docker config lookup (e.g. credentials being verified by `login`). */
  credentials?: (host: string) => Promise<Credential | undefined>;
  /**
   * Hosts (`host[:port]`) that may be reached over plain HTTP when HTTPS fails at the protocol level. Loopback hosts
   * (`localhost`, `127.*`, `::1`) always may, like Docker's default insecure registries.
   */
  insecureRegistries?: readonly string[];
  clock?: Clock;
}

/** Largest manifest accepted, in bytes (the distribution spec's registries limit them to 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** A fetched manifest: its bytes, their sha256 digest and the response's Content-Type. */
export interface FetchedManifest {
  body: Buffer;
  digest: string;
  contentType: string | undefined;
}

/** True for `localhost`, `127.x.x.x` and `::1`, with or without a port. */
export function isLoopbackHost(hostport: string): boolean {
  const { host } = splitHostPort(hostport);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

interface Token {
  header: string;
  expiresAt: number;
}

/**
 * A client for one registry speaking the distribution API: anonymous, basic and bearer-token auth (tokens cached
 * per scope until they expire), HTTPS with an HTTP fallback for loopback/insecure hosts, redirects for blob GETs.
 */
export class RegistryClient {
  private readonly transport: HttpTransport;
  private readonly clock: Clock;
  private base: URL | undefined;
  private basic: string | undefined;
  private readonly tokens = new Map<string, Token>();
  private credential: Promise<Credential | undefined> | undefined;

  constructor(
    /** `host[:port]` */
    readonly registry: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.transport = new HttpTransport(options);
    this.clock = options.clock ?? systemClock;
  }

  private creds(): Promise<Credential | undefined> {
    this.credential ??= this.options.credentials
      ? this.options.credentials(this.registry)
      : readCredential(this.registry, { dockerConfig: this.options.dockerConfig });
    return this.credential;
  }

  private async baseUrl(signal?: AbortSignal): Promise<URL> {
    if (this.base) return this.base;
    const https = new URL(`https://${this.registry}/`);
    const http = new URL(`http://${this.registry}/`);
    if (isLoopbackHost(this.registry)) {
      // Traffic to loopback never leaves the host, so plain HTTP is tried first (it spares a TLS context, ~0.1 s):
      // a registry answers /v2/ with 200 or 401; a TLS server answers garbage, a 400 or a reset, and gets HTTPS.
      try {
        const res = await this.transport.request(new URL('/v2/', http), { method: 'GET', signal });
        discard(res);
        if (res.statusCode === 200 || res.statusCode === 401) {
          this.base = http;
          return http;
        }
      } catch (err) {
        if (signal?.aborted) throw err;
      }
      this.base = https;
      return https;
    }
    if ((this.options.insecureRegistries ?? []).includes(this.registry)) {
      try {
        discard(await this.transport.request(new URL('/v2/', https), { method: 'GET', signal }));
      } catch (err) {
        const cause: unknown = err instanceof Error ? err.cause : undefined;
        if (!isTlsProtocolError(cause)) throw err;
        this.base = http;
        return http;
      }
    }
    this.base = https;
    return https;
  }

  private authHeader(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expiresAt > this.clock.now()) return t.header;
    return this.basic;
  }

  private async authenticate(challengeHeader: string | undefined, scope: string, signal?: AbortSignal): Promise<string> {
    const challenges = parseWwwAuthenticate(challengeHeader ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const cred = await this.creds();
    const basicOf = (c: Credential): string => 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
    if (bearer?.params['realm']) {
      const url = new URL(bearer.params['realm']);
      if (bearer.params['service']) url.searchParams.set('service', bearer.params['service']);
      if (scope !== '') url.searchParams.set('scope', scope);
      const res = await this.transport.request(url, { method: 'GET', headers: cred ? { authorization: basicOf(cred) } : {}, signal });
      if (res.statusCode !== 200) {
        discard(res);
        throw installerError('unauthorized', `${this.registry}: token request to ${url.origin}${url.pathname} failed with ${res.statusCode}${cred ? ' (credentials rejected)' : ' (no credentials stored; log in first)'}`);
      }
      const json: unknown = JSON.parse((await readBody(res, 1 << 20, 'token response')).toString('utf8'));
      const rec = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
      const token = typeof rec['token'] === 'string' ? rec['token'] : rec['access_token'];
      if (typeof token !== 'string' || token === '') throw installerError('unauthorized', `${this.registry}: token response has no token`);
      const expiresIn = typeof rec['expires_in'] === 'number' && rec['expires_in'] > 0 ? rec['expires_in'] : 60;
      const header = `Bearer ${token}`;
      // Renew a little early so a token does not expire between the check and the request.
      this.tokens.set(scope, { header, expiresAt: this.clock.now() + Math.max(1, expiresIn - 5) * 1000 });
      return header;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!cred) throw installerError('unauthorized', `${this.registry}: authentication required and no credentials are stored (run login first)`);
      this.basic = basicOf(cred);
      return this.basic;
    }
    throw installerError('unauthorized', `${this.registry}: 401 without a usable WWW-Authenticate challenge`);
  }

  /**
   * Sends a request for `scope` (`repository:<path>:pull[,push]`), answering one auth challenge. `path` is
   * relative to the registry root or an absolute URL (upload locations). Resolves with any status; 401 after the
   * challenge is answered stays a 401 for the caller to report.
   */
  async send(
    method: string,
    path: string,
    spec: { scope: string; headers?: Record<string, string>; body?: RequestBody; signal?: AbortSignal; redirects?: boolean },
  ): Promise<IncomingMessage> {
    let url = new URL(path, await this.baseUrl(spec.signal));
    let auth = this.authHeader(spec.scope);
    let challenged = false;
    for (let hops = 0; ; ) {
      const sameHost = url.host === this.base?.host;
      const headers = { ...spec.headers, ...(auth && sameHost ? { authorization: auth } : {}) };
      const res = await this.transport.request(url, { method, headers, body: spec.body, signal: spec.signal });
      const status = res.statusCode ?? 0;
      if (status === 401 && sameHost && !challenged) {
        discard(res);
        challenged = true;
        auth = await this.authenticate(res.headers['www-authenticate'], spec.scope, spec.signal);
        continue;
      }
      if (spec.redirects && [301, 302, 303, 307, 308].includes(status) && res.headers.location && hops < 5) {
        discard(res);
        hops++;
        url = new URL(res.headers.location, url);
        continue;
      }
      return res;
    }
  }

  /** Every tag of `repo` (follows `Link` pagination). Throws `unknown_plugin` on 404. */
  async listTags(repo: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    for (let page = 0; next && page < 100; page++) {
      const res = await this.send('GET', next, { scope: `repository:${repo}:pull`, signal: options.signal, headers: { accept: 'application/json' } });
      if (res.statusCode !== 200) throw await registryFailure(res, `listing tags of ${this.registry}/${repo}`);
      const json: unknown = JSON.parse((await readBody(res, 16 << 20, 'tag list')).toString('utf8'));
      const list = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['tags'] : undefined;
      if (Array.isArray(list)) for (const t of list) if (typeof t === 'string') tags.push(t);
      const link = res.headers.link;
      const m = typeof link === 'string' ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      next = m?.[1];
    }
    return tags;
  }

  /** Fetches a manifest by tag or digest and checks its digest (against the digest asked for, or the header). */
  async getManifest(repo: string, reference: string, options: { signal?: AbortSignal } = {}): Promise<FetchedManifest> {
    const what = `fetching manifest ${this.registry}/${repo}:${reference}`;
    const res = await this.send('GET', `/v2/${repo}/manifests/${reference}`, { scope: `repository:${repo}:pull`, signal: options.signal, headers: { accept: MANIFEST_ACCEPT } });
    if (res.statusCode !== 200) throw await registryFailure(res, what);
    const body = await readBody(res, MAX_MANIFEST_BYTES, what);
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    const expected = reference.startsWith('sha256:') ? reference : res.headers['docker-content-digest'];
    if (typeof expected === 'string' && expected.startsWith('sha256:') && expected !== digest) {
      throw installerError('digest_mismatch', `${what}: content digest ${digest} does not match ${expected}`);
    }
    return { body, digest, contentType: res.headers['content-type'] };
  }

  /** Opens a blob for reading (after redirects); the caller consumes the stream and checks its digest. */
  async openBlob(repo: string, digest: string, options: { signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    const res = await this.send('GET', `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull`, signal: options.signal, redirects: true });
    if (res.statusCode !== 200) throw await registryFailure(res, `fetching blob ${digest} of ${this.registry}/${repo}`);
    return res;
  }

  /** True when the registry has the blob already. */
  async hasBlob(repo: string, digest: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull,push`, signal: options.signal, redirects: true });
    discard(res);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await registryFailure(res, `checking blob ${digest} of ${this.registry}/${repo}`);
  }

  /** Uploads a blob in one monolithic PUT, streaming `open()`'s bytes. `size` in bytes. */
  async pushBlob(repo: string, digest: string, size: number, open: RequestBody, options: { signal?: AbortSignal } = {}): Promise<void> {
    const what = `uploading blob ${digest} to ${this.registry}/${repo}`;
    const scope = `repository:${repo}:pull,push`;
    const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { scope, signal: options.signal, headers: { 'content-length': '0' } });
    if (start.statusCode !== 202 || !start.headers.location) throw await registryFailure(start, what);
    discard(start);
    const url = new URL(start.headers.location, await this.baseUrl(options.signal));
    url.searchParams.set('digest', digest);
    const res = await this.send('PUT', url.toString(), {
      scope,
      signal: options.signal,
      body: open,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    if (res.statusCode !== 201) throw await registryFailure(res, what);
    discard(res);
  }

  /** Uploads a manifest under a tag or its digest. */
  async pushManifest(repo: string, reference: string, mediaType: string, body: Buffer, options: { signal?: AbortSignal } = {}): Promise<void> {
    const res = await this.send('PUT', `/v2/${repo}/manifests/${reference}`, {
      scope: `repository:${repo}:pull,push`,
      signal: options.signal,
      body,
      headers: { 'content-type': mediaType },
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await registryFailure(res, `pushing manifest ${this.registry}/${repo}:${reference}`);
    discard(res);
  }

  /** Checks that the registry accepts our credentials (GET /v2/ through the auth flow). */
  async ping(options: { signal?: AbortSignal; scope?: string } = {}): Promise<void> {
    const res = await this.send('GET', '/v2/', { scope: options.scope ?? '', signal: options.signal });
    if (res.statusCode !== 200) throw await registryFailure(res, `checking ${this.registry}`);
    discard(res);
  }

  /** Closes idle sockets. */
  close(): void {
    this.transport.close();
  }
}

/** Reads a failed response and turns it into an installer error that names `what` and the registry's words. */
export async function registryFailure(res: IncomingMessage, what: string): Promise<Error> {
  const status = res.statusCode ?? 0;
  let detail = '';
  try {
    const text = (await readBody(res, 64 << 10, what)).toString('utf8');
    const json: unknown = JSON.parse(text);
    const errors = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['errors'] : undefined;
    if (Array.isArray(errors)) {
      detail = errors
        .map((e: unknown) => (typeof e === 'object' && e !== null ? `${String((e as Record<string, unknown>)['code'])}: ${String((e as Record<string, unknown>)['message'])}` : ''))
        .filter(Boolean)
        .join('; ');
    }
  } catch {
    // The body was no JSON error document; the status alone has to do.
  }
  const msg = `${what}: registry answered ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 401 || status === 403) return installerError('unauthorized', msg, { details: { status } });
  if (status === 404) return installerError('unknown_plugin', msg, { details: { status } });
  return installerError('registry_error', msg, { details: { status } });
}
