import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@fleetrunner/common';
import { installerError } from './errors.js';

/** A registry credential. Never logged. */
export interface Credential {
  username: string;
  password: string;
}

/** Where credentials come from: the Docker `config.json` (and the credential helpers it names). */
export interface CredentialOptions {
  /** Path of the Docker config file; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  dockerConfig?: string;
  signal?: AbortSignal;
}

/** The Docker config file path this process uses. */
export function dockerConfigPath(options: Pick<CredentialOptions, 'dockerConfig'> = {}, env: NodeJS.ProcessEnv = process.env): string {
  if (options.dockerConfig) return options.dockerConfig;
  if (env['DOCKER_CONFIG']) return join(env['DOCKER_CONFIG'], 'config.json');
  return join(homedir(), '.docker', 'config.json');
}

/** `https://index.docker.io/v1/` → `index.docker.io`; keys in `auths` are matched on this form. */
export function normalizeServer(server: string): string {
  let s = server.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash !== -1) s = s.slice(0, slash);
  s = s.toLowerCase();
  return s === 'docker.io' || s === 'registry-1.docker.io' ? 'index.docker.io' : s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw installerError('io', `reading ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const json: unknown = JSON.parse(text);
    if (!isRecord(json)) throw new Error('not a JSON object');
    return json;
  } catch (err) {
    throw installerError('io', `reading ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function runHelper(helper: string, verb: 'get' | 'store', input: string, signal?: AbortSignal): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [verb], { stdio: ['pipe', 'pipe', 'ignore'], signal });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (err) => reject(installerError('io', `running docker-credential-${helper}: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.end(input);
  });
}

function helperFor(config: Record<string, unknown>, host: string): string | undefined {
  const helpers = config['credHelpers'];
  if (isRecord(helpers)) {
    for (const [k, v] of Object.entries(helpers)) if (normalizeServer(k) === host && typeof v === 'string') return v;
  }
  const store = config['credsStore'];
  return typeof store === 'string' && store !== '' ? store : undefined;
}

/**
 * The credential stored for `server` (a host[:port]), or undefined for anonymous access. Reads `auths` entries
 * (`auth` = base64 `user:password`, or `username`/`password`), then a `credHelpers`/`credsStore` helper.
 */
export async function readCredential(server: string, options: CredentialOptions = {}): Promise<Credential | undefined> {
  const host = normalizeServer(server);
  const config = await readConfig(dockerConfigPath(options));
  const auths = config['auths'];
  if (isRecord(auths)) {
    for (const [key, entry] of Object.entries(auths)) {
      if (normalizeServer(key) !== host || !isRecord(entry)) continue;
      const auth = entry['auth'];
      if (typeof auth === 'string' && auth !== '') {
        const decoded = Buffer.from(auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      const u = entry['username'];
      const p = entry['password'];
      if (typeof u === 'string' && typeof p === 'string' && u !== '') return { username: u, password: p };
    }
  }
  const helper = helperFor(config, host);
  if (!helper) return undefined;
  const r = await runHelper(helper, 'get', host, options.signal);
  if (r.code !== 0) return undefined;
  try {
    const json: unknown = JSON.parse(r.stdout);
    if (isRecord(json) && typeof json['Username'] === 'string' && typeof json['Secret'] === 'string') {
      return { username: json['Username'], password: json['Secret'] };
    }
  } catch {
    // A helper that prints no JSON has nothing for this host.
  }
  return undefined;
}

/**
 * Stores `cred` for `server`: through the configured credential helper when there is one, else in the config
 * file's `auths` (written atomically with mode 0600, other keys kept). Returns where it went ("via").
 */
export async function storeCredential(server: string, cred: Credential, options: CredentialOptions = {}): Promise<string> {
  const host = normalizeServer(server);
  const path = dockerConfigPath(options);
  const config = await readConfig(path);
  const helper = helperFor(config, host);
  if (helper) {
    const r = await runHelper(helper, 'store', JSON.stringify({ ServerURL: host, Username: cred.username, Secret: cred.password }), options.signal);
    if (r.code !== 0) throw installerError('io', `storing credentials with docker-credential-${helper} failed (exit ${r.code})`);
    return `credential helper docker-credential-${helper}`;
  }
  const auths = isRecord(config['auths']) ? config['auths'] : {};
  for (const key of Object.keys(auths)) if (normalizeServer(key) === host) delete auths[key];
  auths[host] = { auth: Buffer.from(`${cred.username}:${cred.password}`).toString('base64') };
  config['auths'] = auths;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFileAtomic(path, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  } catch (err) {
    throw installerError('io', `writing ${path}: ${(err as Error).message}`, { cause: err });
  }
  return `config file ${path}`;
}
