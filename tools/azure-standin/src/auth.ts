import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArmError } from './api/errors.js';

/** The scope (audience) of Azure Resource Manager tokens. */
export const ARM_SCOPE = 'https://management.azure.com/.default';
export const ARM_AUDIENCE = 'https://management.azure.com';

/** The identities the stand-in's Entra ID (and managed identity endpoint) know, and the tokens they were given. */
export interface Directory {
  tenantId: string;
  /** A service principal (app registration) with a client secret. */
  clientId: string;
  clientSecret: string;
  /** The token of a federated identity (workload identity): what `AZURE_FEDERATED_TOKEN_FILE` holds. */
  federatedToken: string;
  /** The App Service managed identity endpoint's `X-IDENTITY-HEADER` secret. */
  identityHeader: string;
  /** Access tokens accepted by the ARM API, with their expiry (ms). */
  tokens: Map<string, number>;
}

/** A fresh directory with one service principal. */
export function newDirectory(): Directory {
  return {
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: `${randomBytes(3).toString('hex')}~${randomBytes(24).toString('base64url')}`,
    federatedToken: `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:ci:runner', aud: 'api://AzureADTokenExchange' })).toString('base64url')}.`,
    identityHeader: randomBytes(16).toString('hex'),
    tokens: new Map(),
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function issue(dir: Directory, now: number): { token: string; expiresIn: number } {
  const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.standin-${randomBytes(24).toString('base64url')}`;
  dir.tokens.set(token, now + 3_600_000);
  return { token, expiresIn: 3599 };
}

function reply(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store, no-cache', ...headers });
  res.end(text);
}

/** An Entra ID (AAD) OAuth error as the v2.0 token endpoint writes it. */
function aadError(res: ServerResponse, status: number, error: string, code: number, text: string): void {
  const now = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  reply(res, status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${now}`,
    error_codes: [code],
    timestamp: now,
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

/**
 * Serves Entra ID's OpenID configuration and v2.0 token endpoint for the directory's tenant
 * (`/{tenant}/v2.0/.well-known/openid-configuration`, `POST /{tenant}/oauth2/v2.0/token`: client credentials with
 * the client secret or a federated client assertion), and the App Service managed identity endpoint
 * (`GET /msi/token?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`). Returns false for other paths.
 */
export function serveIdentity(dir: Directory, base: string, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, now: number): boolean {
  const path = url.pathname;
  if (path === '/msi/token') {
    if (req.headers['x-identity-header'] !== dir.identityHeader) {
      reply(res, 401, { statusCode: 401, message: 'Unauthorized request. X-IDENTITY-HEADER is missing or invalid.' });
      return true;
    }
    const resource = url.searchParams.get('resource') ?? '';
    if (resource.replace(/\/$/, '') !== ARM_AUDIENCE) {
      reply(res, 400, { statusCode: 400, message: `The resource ${JSON.stringify(resource)} is not known to this managed identity endpoint.` });
      return true;
    }
    const t = issue(dir, now);
    reply(res, 200, { access_token: t.token, expires_on: String(Math.floor(now / 1000) + t.expiresIn), resource, token_type: 'Bearer', client_id: dir.clientId });
    return true;
  }
  const m = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/instance)$/.exec(path);
  if (!m) return false;
  const tenant = m[1]!;
  if (tenant !== dir.tenantId && tenant !== 'organizations' && tenant !== 'common') {
    aadError(res, 400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    return true;
  }
  if (m[2] === 'v2.0/.well-known/openid-configuration') {
    const t = `${base}/${dir.tenantId}`;
    reply(res, 200, {
      token_endpoint: `${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${dir.tenantId}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${t}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
      kerberos_endpoint: `${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
    return true;
  }
  if (m[2] === 'discovery/instance') {
    aadError(res, 400, 'invalid_instance', 50049, 'Unknown or invalid instance.');
    return true;
  }
  if (req.method !== 'POST') {
    aadError(res, 405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    return true;
  }
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('grant_type') !== 'client_credentials') {
    aadError(res, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`);
    return true;
  }
  if (form.get('client_id') !== dir.clientId) {
    aadError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${dir.tenantId}'.`);
    return true;
  }
  const scope = form.get('scope') ?? '';
  if (!scope.split(' ').includes(ARM_SCOPE)) {
    aadError(res, 400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
    return true;
  }
  const secretGiven = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (secretGiven !== null) {
    if (!same(secretGiven, dir.clientSecret)) {
      aadError(res, 401, 'invalid_client', 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + dir.clientId + "'.");
      return true;
    }
  } else if (assertion !== null) {
    if (!same(assertion, dir.federatedToken)) {
      aadError(res, 400, 'invalid_client', 700213, 'No matching federated identity record found for presented assertion subject.');
      return true;
    }
  } else {
    aadError(res, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    return true;
  }
  const t = issue(dir, now);
  reply(res, 200, { token_type: 'Bearer', expires_in: t.expiresIn, ext_expires_in: t.expiresIn, access_token: t.token });
  return true;
}

/** Checks an ARM request's bearer token; throws ARM's 401 otherwise. */
export function authenticate(dir: Directory, header: string | undefined, base: string, now: number): void {
  const challenge = { 'www-authenticate': `Bearer authorization_uri="${base}/${dir.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."` };
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", undefined, challenge);
  const exp = dir.tokens.get(m[1]!);
  if (exp === undefined) {
    throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', undefined, {
      'www-authenticate': `Bearer authorization_uri="${base}/${dir.tenantId}", error="invalid_token", error_description="The access token is invalid."`,
    });
  }
  if (exp <= now) {
    dir.tokens.delete(m[1]!);
    throw new ArmError(401, 'ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.', undefined, {
      'www-authenticate': `Bearer authorization_uri="${base}/${dir.tenantId}", error="invalid_token", error_description="The access token has expired."`,
    });
  }
}
