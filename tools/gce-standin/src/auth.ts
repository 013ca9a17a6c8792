import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { GceError } from './api/errors.js';

/** The OAuth scopes that allow Compute Engine calls. */
export const COMPUTE_SCOPES = ['https://www.googleapis.com/auth/compute', 'https://www.googleapis.com/auth/cloud-platform'];
/** The audience of self-signed JWTs for Compute Engine. */
export const COMPUTE_AUDIENCE = 'https://compute.googleapis.com/';

/** A service account whose keys the stand-in accepts: the public half of each key, by key id. */
export interface ServiceAccount {
  email: string;
  /** `private_key_id` → public key (PEM). */
  keys: Record<string, string>;
}

/** A service account key file as `gcloud iam service-accounts keys create` writes it. */
export interface ServiceAccountKeyFile {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

/** A fresh service account key: the key file for clients, the account (public half) for the stand-in. */
export function newServiceAccountKey(project: string, name = 'fleetrunner'): { file: ServiceAccountKeyFile; account: ServiceAccount } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = randomBytes(20).toString('hex');
  const email = `${name}@${project}.iam.gserviceaccount.com`;
  return {
    file: {
      type: 'service_account',
      project_id: project,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: BigInt(`0x${randomBytes(8).toString('hex')}`).toString(),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: 'googleapis.com',
    },
    account: { email, keys: { [keyId]: publicKey.export({ type: 'spki', format: 'pem' }).toString() } },
  };
}

const MISSING = 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
const INVALID = 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

function unauthenticated(message: string, reason: string): GceError {
  return new GceError(401, reason, message, 'UNAUTHENTICATED');
}

function json(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a request's `Authorization` header: a Bearer token that is a self-signed service-account JWT (RS256,
 * `kid` = a known key id, `iss` = its account, not expired, `aud` = the Compute audience or a `scope` claim with a
 * Compute scope), or one of the opaque `tokens`. Throws GCE's 401 otherwise. Returns the caller (account email or
 * `token`).
 */
export function authenticate(header: string | undefined, accounts: readonly ServiceAccount[], tokens: ReadonlySet<string>, now: number): string {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) throw unauthenticated(MISSING, 'required');
  const token = m[1]!;
  if (tokens.has(token)) return 'token';
  const [h, p, s] = token.split('.');
  const head = json(h);
  const claims = json(p);
  if (!head || !claims || s === undefined || head.alg !== 'RS256' || typeof head.kid !== 'string') throw unauthenticated(INVALID, 'authError');
  const account = accounts.find((a) => a.email === claims.iss && Object.hasOwn(a.keys, head.kid as string));
  if (!account) throw unauthenticated(INVALID, 'authError');
  let key: KeyObject;
  try {
    key = createPublicKey(account.keys[head.kid]!);
  } catch {
    throw unauthenticated(INVALID, 'authError');
  }
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) throw unauthenticated(INVALID, 'authError');
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  if (exp <= now) throw unauthenticated(INVALID, 'authError');
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : [];
  if (claims.aud !== COMPUTE_AUDIENCE && !scopes.some((x) => COMPUTE_SCOPES.includes(x))) {
    throw new GceError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'PERMISSION_DENIED');
  }
  return account.email;
}
