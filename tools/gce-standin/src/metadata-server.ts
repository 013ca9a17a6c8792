import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the metadata server needs: the project, the default service account, and where issued tokens go. */
export interface MetadataContext {
  project: string;
  email: string;
  /** Tokens the Compute API accepts; issued ones are added. */
  tokens: Set<string>;
}

function reply(res: ServerResponse, status: number, body: string, type = 'application/text'): void {
  res.writeHead(status, { 'metadata-flavor': 'Google', 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The parts of the GCE metadata server (`http://metadata.google.internal/computeMetadata/v1/`) that
 * google-auth-library uses for Application Default Credentials on a VM: detection, the project id, the default
 * service account's email and an access token (opaque, accepted by the stand-in's API). Clients reach it through
 * `GCE_METADATA_HOST=<host:port of the stand-in>`. Requests without `Metadata-Flavor: Google` are refused with 403,
 * as the real server does.
 */
export function serveMetadata(ctx: MetadataContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (req.headers['metadata-flavor'] !== 'Google') return reply(res, 403, 'Missing required header "Metadata-Flavor": "Google"\n');
  const path = url.pathname.replace(/^\/computeMetadata\/v1\/?/, '').replace(/\/$/, '');
  const sa = /^instance\/service-accounts\/(default|[^/]+@[^/]+)(?:\/(.+))?$/.exec(path);
  if (path === '' || path === 'instance') return reply(res, 200, 'attributes/\nhostname\nid\nservice-accounts/\nzone\n');
  if (path === 'project/project-id') return reply(res, 200, ctx.project);
  if (path === 'project/numeric-project-id') return reply(res, 200, '123456789012');
  if (sa && (sa[1] === 'default' || sa[1] === ctx.email)) {
    if (sa[2] === 'email') return reply(res, 200, ctx.email);
    if (sa[2] === 'scopes') return reply(res, 200, 'https://www.googleapis.com/auth/cloud-platform\n');
    if (sa[2] === 'token') {
      const token = `ya29.standin-${randomBytes(24).toString('base64url')}`;
      ctx.tokens.add(token);
      return reply(res, 200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }), 'application/json');
    }
    if (sa[2] === undefined) return reply(res, 200, JSON.stringify({ aliases: ['default'], email: ctx.email, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }), 'application/json');
  }
  reply(res, 404, `${url.pathname} not found\n`, 'text/html');
}
