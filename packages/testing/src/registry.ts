// A real Debian `docker-registry` on a loopback port for tests: plain HTTP, htpasswd basic auth, bearer tokens from
// a token server in this process, or TLS from a self-signed CA; plus raw distribution-API pushes that do not go
// through the installer's own client, and a byte-by-byte tar writer for artifacts that are wrong on purpose.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort } from './free-port.js';
import type { Teardownable } from './tmp-dir.js';

/** A running registry from {@link startRegistry}. */
export interface Registry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** The CA that signed the registry's certificate (TLS only). */
  caFile?: string;
  /** Credentials pushes and authenticated pulls need (htpasswd and token auth). */
  username?: string;
  password?: string;
  /** The registry's filesystem storage root. */
  storage: string;
  /** Bearer token requests seen by the token server (auth header present or not). */
  tokenRequests: { scope: string | null; basic: boolean }[];
  /** Stops the registry (and token server) and removes its files; idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}; the default is plain HTTP without auth. */
export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  tls?: boolean;
  /** Anonymous pulls allowed by the token server (push still needs credentials). Default true. */
  anonymousPull?: boolean;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it. */
function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

async function startTokenServer(
  dir: string,
  issuer: string,
  service: string,
  user: { username: string; password: string },
  anonymousPull: boolean,
  seen: Registry['tokenRequests'],
): Promise<{ realm: string; certFile: string; close(): Promise<void> }> {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'token.key', '-out', 'token.pem', '-days', '2', '-subj', '/CN=token-signer']);
  const key = readFileSync(join(dir, 'token.key'), 'utf8');
  const der = Buffer.from(readFileSync(join(dir, 'token.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scope = url.searchParams.get('scope');
    const auth = req.headers.authorization ?? '';
    seen.push({ scope, basic: auth.startsWith('Basic ') });
    const expected = 'Basic ' + Buffer.from(`${user.username}:${user.password}`).toString('base64');
    if (auth !== '' && auth !== expected) {
      res.writeHead(401).end('{"details":"bad credentials"}');
      return;
    }
    const authed = auth === expected;
    const access = [];
    if (scope) {
      const [type, name, actions] = scope.split(':');
      const wanted = (actions ?? '').split(',').filter((a) => a === 'pull' || (a === 'push' && authed));
      if (!authed && !anonymousPull) wanted.length = 0;
      access.push({ type, name, actions: wanted });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: authed ? user.username : '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const signer = createSign('RSA-SHA256');
    signer.update(`${header}.${claims}`);
    const token = `${header}.${claims}.${b64url(signer.sign(key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile: join(dir, 'token.pem'),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Starts `docker-registry` and resolves once it listens; it is stopped and its storage removed when `t` ends (or
 * at `stop()`, which may be called more than once). The port is picked free and then handed over, so another
 * process may take it in between: a registry that exits before listening is started again on a new port (three
 * tries).
 */
export async function startRegistry(t: Teardownable, options: RegistryOptions = {}): Promise<Registry> {
  for (let attempt = 1; ; attempt++) {
    try {
      const reg = await startRegistryOnce(options);
      t.teardown(() => reg.stop());
      return reg;
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('docker-registry exited')) throw err;
    }
  }
}

async function startRegistryOnce(options: RegistryOptions): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'fr-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  const lines = ['version: 0.1', 'log:', '  level: info', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true'];
  lines.push('http:', `  addr: ${host}`);
  const reg: Registry = { host, storage: join(dir, 'data'), tokenRequests: [], stop: async () => undefined };
  let tokenServer: { close(): Promise<void> } | undefined;
  if (options.tls) {
    const c = makeCerts(dir);
    lines.push('  tls:', `    certificate: ${c.cert}`, `    key: ${c.key}`);
    reg.caFile = c.ca;
  }
  const user = { username: 'tester', password: 'pw-' + randomBytes(6).toString('hex') };
  if (options.auth === 'htpasswd') {
    const line = execFileSync('htpasswd', ['-Bbn', user.username, user.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), line.trim() + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: test-realm', `    path: ${join(dir, 'htpasswd')}`);
    Object.assign(reg, user);
  } else if (options.auth === 'token') {
    const ts = await startTokenServer(dir, 'test-issuer', 'test-registry', user, options.anonymousPull ?? true, reg.tokenRequests);
    tokenServer = ts;
    lines.push('auth:', '  token:', `    realm: ${ts.realm}`, '    service: test-registry', '    issuer: test-issuer', `    rootcertbundle: ${ts.certFile}`);
    Object.assign(reg, user);
  }
  writeFileSync(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopped: Promise<void> | undefined;
  reg.stop = () =>
    (stopped ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await tokenServer?.close();
      rmSync(dir, { recursive: true, force: true });
    })());
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        log += d.toString();
        if (log.includes('listening on')) {
          child.stderr?.off('data', onData);
          child.stdout?.off('data', onData);
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', onData);
      child.once('error', (err) => reject(new Error(`starting docker-registry (Debian package docker-registry): ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`docker-registry exited with ${code}: ${log}`)));
    });
  } catch (err) {
    await reg.stop();
    throw err;
  }
  child.stderr?.resume();
  child.stdout?.resume();
  return reg;
}

// ---- raw distribution API (independent of the installer's client) ----

/** sha256 digest string of `b`. */
export function digestOf(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

function rawRequest(reg: Registry, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(path, `${reg.caFile ? 'https' : 'http'}://${reg.host}`);
  const auth = reg.username ? { authorization: 'Basic ' + Buffer.from(`${reg.username}:${reg.password}`).toString('base64') } : {};
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method, headers: { ...auth, ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, ca: reg.caFile ? readFileSync(reg.caFile) : undefined }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Uploads a blob with POST + PUT (htpasswd or no auth only). */
export async function rawPushBlob(reg: Registry, repo: string, blob: Buffer): Promise<string> {
  const digest = digestOf(blob);
  const start = await rawRequest(reg, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${start.body.toString()}`);
  const loc = new URL(String(start.headers.location), `http://${reg.host}`);
  loc.searchParams.set('digest', digest);
  const put = await rawRequest(reg, 'PUT', loc.pathname + loc.search, blob, { 'content-type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${put.body.toString()}`);
  return digest;
}

/** Uploads a manifest. */
export async function rawPushManifest(reg: Registry, repo: string, ref: string, mediaType: string, body: Buffer): Promise<string> {
  const r = await rawRequest(reg, 'PUT', `/v2/${repo}/manifests/${ref}`, body, { 'content-type': mediaType });
  if (r.status !== 201) throw new Error(`manifest: ${r.status} ${r.body.toString()}`);
  return digestOf(body);
}

/** A tar entry for {@link makeTar}. */
export interface RawEntry {
  name: string;
  type?: '0' | '1' | '2' | '5' | '3';
  body?: Buffer;
  linkname?: string;
  mode?: number;
}

/** A tar archive written here byte by byte (so that bad archives can be made on purpose). */
export function makeTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100);
    h.write((e.mode ?? 0o755).toString(8).padStart(7, '0') + '\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    h.write(e.linkname ?? '', 157, 100);
    h.write('ustar\x0000', 257, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** One platform of a raw artifact. */
export interface RawPlatform {
  os: string;
  architecture: string;
  variant?: string;
  /** The layer blob (gzip tar) as pushed. */
  layer: Buffer;
  /** The size/digest to announce, when they should lie. */
  announce?: { size?: number; digest?: string };
  /** Layer media type; default the gzip tar type of the chosen flavour. */
  layerMediaType?: string;
}

/** Gzipped tar holding `plugin` with `content`. */
export function pluginLayer(content: Buffer, name = 'plugin'): Buffer {
  return gzipSync(makeTar([{ name, body: content }]));
}

/**
 * Pushes a multi-platform artifact as `fleeting-artifact` lays it out (index → one manifest per platform → one
 * gzip layer) through raw API requests. `docker` switches every media type to Docker v2 schema 2.
 */
export async function rawPushArtifact(reg: Registry, repo: string, tag: string, platforms: RawPlatform[], docker = false): Promise<string> {
  const manifests = [];
  for (const p of platforms) {
    const layerDigest = await rawPushBlob(reg, repo, p.layer);
    const config = Buffer.from(JSON.stringify({ architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await rawPushBlob(reg, repo, config);
    const mt = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mt,
        config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [
          {
            mediaType: p.layerMediaType ?? (docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip'),
            digest: p.announce?.digest ?? layerDigest,
            size: p.announce?.size ?? p.layer.length,
          },
        ],
      }),
    );
    const digest = await rawPushManifest(reg, repo, digestOf(manifest), mt, manifest);
    manifests.push({ mediaType: mt, digest, size: manifest.length, platform: { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) } });
  }
  const imt = docker ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json';
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: imt, manifests }));
  return rawPushManifest(reg, repo, tag, imt, index);
}
