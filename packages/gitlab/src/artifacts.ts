import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { RunnerError } from '@fleetrunner/common';
import { discard, messageOf, type ApiTransport, type BodySource } from './http.js';
import { codeForStatus } from './errors.js';
import type { ArtifactFormat, JobCredentials } from './job-payload.js';

/** How many `307`/`302` hops an upload or download follows. */
const MAX_REDIRECTS = 5;

/** One artifacts upload. */
export interface UploadArtifactsOptions {
  /** A fresh archive stream (or bytes) per attempt: retries and redirects resend the whole archive. */
  body: () => BodySource;
  /** File name GitLab stores (the multipart part's filename). Default `artifacts.zip`. */
  filename?: string;
  /** `artifact_format`; default: GitLab's default (`zip`). */
  format?: ArtifactFormat;
  /** `artifact_type` (`archive`, `junit`, …); default: GitLab's default (`archive`). */
  type?: string;
  /** `expire_in` (`1 week`); default: the instance setting. */
  expireIn?: string;
  signal?: AbortSignal;
}

/** Options of a dependency download. */
export interface DownloadArtifactsOptions {
  /** Ask for a redirect to object storage (`direct_download=true`); undefined leaves the parameter out. */
  directDownload?: boolean;
  signal?: AbortSignal;
}

function quoteFilename(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** A `multipart/form-data` body with a single part `file`, streamed (the archive is never buffered whole). */
async function* multipartBody(boundary: string, filename: string, source: BodySource): AsyncGenerator<Uint8Array> {
  yield Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteFilename(filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  if (typeof source === 'string') yield Buffer.from(source);
  else if (source instanceof Uint8Array) yield source;
  else for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/**
 * `POST jobs/:id/artifacts?artifact_format=&artifact_type=&expire_in=` with the job token. 201 → done; 307 →
 * uploads again to `Location`; 413 → `invalid_argument` (too large); 403 → `auth_failed`; 503 and other retryable
 * statuses are retried by the transport; anything else → an error carrying GitLab's message.
 */
export async function uploadArtifacts(transport: ApiTransport, job: JobCredentials, upload: UploadArtifactsOptions): Promise<void> {
  const q = new URLSearchParams();
  if (upload.expireIn) q.set('expire_in', upload.expireIn);
  if (upload.format) q.set('artifact_format', upload.format);
  if (upload.type) q.set('artifact_type', upload.type);
  const filename = upload.filename ?? 'artifacts.zip';
  let path = `jobs/${job.id}/artifacts${q.size > 0 ? `?${q.toString()}` : ''}`;
  for (let hop = 0; ; hop++) {
    const boundary = `fleetrunner${randomBytes(12).toString('hex')}`;
    const res = await transport.send({
      endpoint: 'upload_artifacts',
      method: 'POST',
      path,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, Accept: 'application/json', 'JOB-TOKEN': job.token },
      body: () => multipartBody(boundary, filename, upload.body()),
      redirect: 'manual',
      ...(upload.signal ? { signal: upload.signal } : {}),
    });
    if (res.status === 201) {
      await discard(res);
      return;
    }
    const location = res.headers.get('location');
    if (res.status === 307 && location && hop < MAX_REDIRECTS) {
      await discard(res);
      path = new URL(location, transport.apiUrl).toString();
      continue;
    }
    const message = await messageOf(res);
    if (res.status === 413) {
      throw new RunnerError('invalid_argument', `uploading artifacts: too large (HTTP 413)${message ? `: ${message}` : ''}`, { details: { status: 413, tooLarge: true } });
    }
    throw new RunnerError(codeForStatus(res.status), `uploading artifacts: HTTP ${res.status}${message ? `: ${message}` : ''}`, { details: { status: res.status } });
  }
}

/**
 * `GET jobs/:id/artifacts` with the dependency's job token, following redirects to object storage (without the
 * token when the host changes), streaming the body to `file`. 401/403 → `auth_failed` with the server's message
 * (JSON or the object store's XML); 404 → `not_found`. A failed download leaves no partial file behind.
 */
export async function downloadArtifacts(transport: ApiTransport, dependency: JobCredentials, file: string, options: DownloadArtifactsOptions = {}): Promise<number> {
  const q = options.directDownload === undefined ? '' : `?direct_download=${options.directDownload}`;
  let url = new URL(`jobs/${dependency.id}/artifacts${q}`, transport.apiUrl);
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = url.origin === origin ? { 'JOB-TOKEN': dependency.token } : {};
    const res = await transport.send({
      endpoint: 'download_artifacts',
      method: 'GET',
      path: url.toString(),
      headers,
      redirect: 'manual',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const location = res.headers.get('location');
    if ([301, 302, 303, 307, 308].includes(res.status) && location && hop < MAX_REDIRECTS) {
      await discard(res);
      url = new URL(location, url);
      continue;
    }
    if (res.status !== 200 || !res.body) {
      const message = await messageOf(res);
      const what = res.status === 404 ? 'not found' : res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : `HTTP ${res.status}`;
      throw new RunnerError(codeForStatus(res.status), `downloading artifacts of job ${dependency.id}: ${what}${message ? `: ${message}` : ''}`, {
        details: { status: res.status, jobId: dependency.id },
      });
    }
    return streamToFile(res.body as unknown as NodeReadableStream<Uint8Array>, file, options.signal);
  }
}

async function streamToFile(body: NodeReadableStream<Uint8Array>, file: string, signal: AbortSignal | undefined): Promise<number> {
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body), count, createWriteStream(file), ...(signal ? [{ signal }] : []));
  } catch (err) {
    await rm(file, { force: true });
    if (signal?.aborted) throw err;
    throw RunnerError.wrap('downloading artifacts', err, 'unavailable');
  }
  return bytes;
}
