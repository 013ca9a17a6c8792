import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, resolve } from 'node:path';
import { header, sendError } from './http-util.js';
import type { Store } from './store.js';

/** A repository served over smart HTTP. */
export interface GitRepo {
  /** URL path without `.git` (`group/project`). */
  name: string;
  /** The repository on disk (a bare repo or a work tree). */
  dir: string;
  /** Serve without credentials. Default false: `gitlab-ci-token:<token of a running job>` is required. */
  public: boolean;
}

/** Finds the repository a request path addresses and the rest of the path (`info/refs`, `git-upload-pack`). */
export function matchRepo(repos: readonly GitRepo[], path: string): { repo: GitRepo; rest: string } | undefined {
  const p = path.replace(/^\/+/, '');
  for (const repo of repos) {
    for (const prefix of [`${repo.name}.git/`, `${repo.name}/`]) {
      if (p.startsWith(prefix)) return { repo, rest: p.slice(prefix.length) };
    }
  }
  return undefined;
}

function credentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(header(req, 'authorization'));
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), password: text.slice(i + 1) };
}

/**
 * Serves clone and fetch through the real `git http-backend` (CGI). Only upload-pack (read) is allowed. Credentials
 * follow GitLab: user `gitlab-ci-token`, password the token of a running (or canceling) job; without them 401 with
 * `WWW-Authenticate: Basic realm="GitLab"`, so git asks and retries with the URL's credentials.
 */
export function serveGit(store: Store, match: { repo: GitRepo; rest: string }, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const { repo, rest } = match;
  const service = url.searchParams.get('service') ?? (rest === 'git-upload-pack' ? 'git-upload-pack' : rest === 'git-receive-pack' ? 'git-receive-pack' : '');
  if (service === 'git-receive-pack') return sendError(res, 403, '403 Forbidden - pushing is not supported by the stand-in');
  if (!repo.public) {
    const cred = credentials(req);
    const job = cred && cred.user === 'gitlab-ci-token' ? store.jobByToken(cred.password) : undefined;
    if (!job || (job.status !== 'running' && job.status !== 'canceling')) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="GitLab"', 'Content-Type': 'text/plain' });
      res.end('HTTP Basic: Access denied\n');
      return;
    }
  }
  const dir = resolve(repo.dir);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: dirname(dir),
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: `/${basename(dir)}/${rest}`,
    REQUEST_METHOD: req.method ?? 'GET',
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: header(req, 'content-type'),
    REMOTE_USER: 'gitlab-ci-token',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  const length = header(req, 'content-length');
  if (length !== '') env['CONTENT_LENGTH'] = length;
  const encoding = header(req, 'content-encoding');
  if (encoding !== '') env['HTTP_CONTENT_ENCODING'] = encoding;
  const protocol = header(req, 'git-protocol');
  if (protocol !== '') env['GIT_PROTOCOL'] = protocol;
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  relayCgi(child.stdout, res, () => stderr);
  child.on('error', (err) => {
    if (!res.headersSent) sendError(res, 500, `500 git http-backend: ${err.message}`);
    else res.destroy(err);
  });
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

/** Parses the CGI header block (`Status:` and fields up to a blank line), then streams the body. */
function relayCgi(out: NodeJS.ReadableStream, res: ServerResponse, stderr: () => string): void {
  let head = Buffer.alloc(0);
  let started = false;
  out.on('data', (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf('\r\n\r\n');
    let sepLen = 4;
    if (end < 0) {
      end = head.indexOf('\n\n');
      sepLen = 2;
    }
    if (end < 0) return;
    started = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10) || 200;
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    const rest = head.subarray(end + sepLen);
    if (rest.length > 0) res.write(rest);
  });
  out.on('end', () => {
    if (!started) sendError(res, 500, `500 git http-backend produced no response: ${stderr().trim()}`);
    else res.end();
  });
}
