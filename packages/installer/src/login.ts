import { RunnerError } from '@fleetrunner/common';
import { storeCredential, type Credential } from './credentials.js';
import { installerError } from './errors.js';
import { DEFAULT_REGISTRY } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry-client.js';

/** Options for {@link login}. */
export interface LoginOptions extends RegistryOptions {
  signal?: AbortSignal;
}

/**
 * Checks `cred` against `server` (default `registry.gitlab.com`) through the registry's own auth flow (basic, or
 * a bearer token fetched with the credential), then stores it Docker-config style. Returns where it went, the
 * "via" that `login` prints.
 */
export async function login(server: string | undefined, cred: Credential, options: LoginOptions = {}): Promise<string> {
  const host = (server ?? DEFAULT_REGISTRY).replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (cred.username === '') throw installerError('bad_reference', 'login needs a username');
  const client = new RegistryClient(host, { ...options, credentials: () => Promise.resolve(cred) });
  try {
    await client.ping({ signal: options.signal });
    return await storeCredential(host, cred, { dockerConfig: options.dockerConfig, signal: options.signal });
  } catch (err) {
    throw RunnerError.wrap(`logging in to ${host}`, err);
  } finally {
    client.close();
  }
}

/** Reads a password from stdin: everything, minus one trailing `\n` and then one trailing `\r`. */
export async function readPasswordStream(input: AsyncIterable<Buffer | string>): Promise<string> {
  let s = '';
  for await (const c of input) s += typeof c === 'string' ? c : c.toString('utf8');
  if (s.endsWith('\n')) s = s.slice(0, -1);
  if (s.endsWith('\r')) s = s.slice(0, -1);
  return s;
}
