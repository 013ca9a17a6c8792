import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { header, readBody, sendError, sendJson } from './http-util.js';
import { authenticateJob, jobToken } from './job-routes.js';
import type { Store } from './store.js';
import type { StandinJob } from './types.js';

/** What the artifact routes need from the stand-in. */
export interface ArtifactRouteContext {
  store: Store;
  maxArtifactBytes: number;
  /** Objects served from `/object-storage/<key>` without auth (direct downloads redirect there). */
  objects: Map<string, { data: Buffer; filename: string }>;
}

/** The single file part of a `multipart/form-data` body, as Workhorse extracts it. */
export function multipartFile(contentType: string, body: Buffer, fieldName = 'file'): { filename: string; data: Buffer } | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!/^multipart\/form-data/i.test(contentType) || !boundary) return undefined;
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const partStart = pos + delim.length;
    if (body.subarray(partStart, partStart + 2).toString() === '--') return undefined;
    const headEnd = body.indexOf('\r\n\r\n', partStart);
    if (headEnd < 0) return undefined;
    const head = body.subarray(partStart, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) return undefined;
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="((?:[^"\\]|\\.)*)"/.exec(disp)?.[1];
    if (name === fieldName) {
      const filename = (/\bfilename="((?:[^"\\]|\\.)*)"/.exec(disp)?.[1] ?? '').replace(/\\(.)/g, '$1');
      return { filename, data: Buffer.from(body.subarray(headEnd + 4, next)) };
    }
    pos = next + 2;
  }
  return undefined;
}

/**
 * `POST jobs/:id/artifacts`: the job token, a running job, a multipart `file` part. 201 `201`; 413 past the size
 * limit; 400 without a file; 403 per authenticate_job!. Stores type/format/expiry from the query (defaults
 * `archive`/`zip`).
 */
export async function uploadArtifacts(ctx: ArtifactRouteContext, id: number, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { body, tooLarge } = await readBody(req, ctx.maxArtifactBytes + 64 * 1024);
  const job = authenticateJob(ctx.store, id, jobToken(req, url), res);
  if (!job) return;
  if (tooLarge) return sendError(res, 413, '413 Request Entity Too Large');
  const file = multipartFile(header(req, 'content-type'), body);
  if (!file) return sendJson(res, 400, { error: 'file is missing' });
  if (file.data.length > ctx.maxArtifactBytes) return sendError(res, 413, '413 Request Entity Too Large');
  const type = url.searchParams.get('artifact_type') || 'archive';
  const format = url.searchParams.get('artifact_format') || 'zip';
  if (job.artifacts.some((a) => a.type === type)) return sendJson(res, 400, { message: `400 Bad request - ${type} artifact already exists` });
  const expireIn = url.searchParams.get('expire_in');
  job.artifacts.push({ type, format, filename: file.filename, data: file.data, ...(expireIn ? { expireIn } : {}) });
  ctx.store.emit('change');
  sendJson(res, 201, 201);
}

/**
 * `GET jobs/:id/artifacts`: authenticated by the token of a running job of the same project (a dependent job);
 * 401 without a valid token; 404 when the job has no archive. `direct_download=true` answers 302 to the
 * stand-in's object storage under another host name (`localhost` ↔ `127.0.0.1`), i.e. another origin.
 */
export function downloadArtifacts(ctx: ArtifactRouteContext, id: number, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const token = jobToken(req, url) || url.searchParams.get('job_token') || '';
  const requester = ctx.store.jobByToken(token);
  if (!requester || (requester.status !== 'running' && requester.status !== 'canceling')) return sendError(res, 401, '401 Unauthorized');
  const job = ctx.store.jobs.get(id);
  if (!job) return sendError(res, 403, '403 Forbidden');
  if (job.payload.job_info?.project_id !== requester.payload.job_info?.project_id) return sendError(res, 403, '403 Forbidden');
  const archive = job.artifacts.find((a) => a.type === 'archive');
  if (!archive) return sendError(res, 404, '404 Not Found');
  if (url.searchParams.get('direct_download') === 'true') {
    const key = randomBytes(12).toString('hex');
    ctx.objects.set(key, { data: archive.data, filename: archive.filename });
    // Another origin, as a bucket would be: the runner must not send its job token there.
    const port = req.socket.localPort ?? 80;
    const host = (req.headers.host ?? '').startsWith('localhost') ? '127.0.0.1' : 'localhost';
    res.writeHead(302, { Location: `http://${host}:${port}/object-storage/${key}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  sendFile(res, archive.data, archive.filename);
}

/** `GET /object-storage/<key>`: a presigned-URL look-alike, no auth. */
export function objectStorage(ctx: ArtifactRouteContext, key: string, res: ServerResponse): void {
  const obj = ctx.objects.get(key);
  if (!obj) {
    res.writeHead(404, { 'Content-Type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
    return;
  }
  sendFile(res, obj.data, obj.filename);
}

function sendFile(res: ServerResponse, data: Buffer, filename: string): void {
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': data.length,
    'Content-Disposition': `attachment; filename="${filename.replace(/"/g, '')}"`,
  });
  res.end(data);
}

/**
 * The `dependencies[]` entry GitLab puts in a job's payload for `dependency` (a finished job, e.g. one made with
 * `plantJob`), downloaded with `consumerToken` (the dependent job's token, as GitLab hands it out).
 */
export function dependencyOn(dependency: StandinJob, consumerToken: string): Record<string, unknown> {
  const archive = dependency.artifacts.find((a) => a.type === 'archive');
  return {
    id: dependency.id,
    token: consumerToken,
    name: dependency.payload.job_info?.name ?? 'dependency',
    ...(archive ? { artifacts_file: { filename: archive.filename, size: archive.data.length } } : {}),
  };
}
