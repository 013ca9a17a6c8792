import type { IncomingMessage, ServerResponse } from 'node:http';
import type { wire } from '@fleetrunner/gitlab';
import { field, header, parseJson, readBody, sendError, sendJson } from './http-util.js';
import { appendTrace, checksumOf, processingOnRunner, type Store } from './store.js';
import type { FinalState, StandinJob } from './types.js';

/** What the job routes need from the stand-in. */
export interface JobRouteContext {
  store: Store;
  traceUpdateIntervalSeconds(): number;
  maxTraceBytes: number;
  strictContentRange: boolean;
}

/** The job token of a request: `token` parameter (query or JSON body) or the `JOB-TOKEN` header. */
export function jobToken(req: IncomingMessage, url: URL, body?: unknown): string {
  return url.searchParams.get('token') || field(body, 'token') || header(req, 'job-token');
}

/**
 * GitLab's `authenticate_job!`: 403 for an unknown job or a wrong token; 403 with `Job-Status` when the job is no
 * longer processing on a runner. Returns the job when the request may proceed.
 */
export function authenticateJob(store: Store, id: number, token: string, res: ServerResponse): StandinJob | undefined {
  const job = store.jobs.get(id);
  if (!job || token === '' || job.token !== token) {
    sendError(res, 403, '403 Forbidden');
    return undefined;
  }
  if (!processingOnRunner(job)) {
    sendError(res, 403, '403 Forbidden - Job is not processing on runner', { 'Job-Status': job.status });
    return undefined;
  }
  return job;
}

function finalStateFrom(job: StandinJob, body: wire.WireUpdateJobRequest, state: 'success' | 'failed'): FinalState {
  const fs: FinalState = { state, storedChecksum: checksumOf(job.trace), storedBytes: job.trace.length };
  const checksum = body.output?.checksum || body.checksum;
  if (checksum) fs.checksum = checksum;
  if (typeof body.output?.bytesize === 'number') fs.bytesize = body.output.bytesize;
  if (state === 'failed') fs.failureReason = body.failure_reason || 'unknown_failure';
  if (typeof body.exit_code === 'number') fs.exitCode = body.exit_code;
  return fs;
}

/**
 * `PUT jobs/:id` (UpdateBuildStateService): two-phase commit (`pending` keep-alive, `running` acknowledges), then
 * `running` touches, `success`/`failed` finish the job (a canceling job becomes canceled). 200 with `Job-Status`;
 * 400 for an unknown state; 403 per {@link authenticateJob}.
 */
export async function updateJob(ctx: JobRouteContext, id: number, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { body: raw } = await readBody(req, 1024 * 1024);
  const body = parseJson(raw);
  const job = authenticateJob(ctx.store, id, jobToken(req, url, body), res);
  if (!job) return;
  if (typeof body !== 'object' || body === null) return sendError(res, 400, '400 Bad request - state is missing');
  const update = body as wire.WireUpdateJobRequest;
  job.updates.push(update);
  const state = field(body, 'state');
  if (job.awaitingAck) {
    if (state === 'pending') return sendUpdated(ctx, res, job);
    if (state !== 'running') return sendJson(res, 400, 400, { 'Job-Status': job.status });
    job.awaitingAck = false;
    ctx.store.setStatus(job, 'running');
  }
  switch (state) {
    case 'running':
      break;
    case 'success':
    case 'failed':
      job.finalState = finalStateFrom(job, update, state);
      ctx.store.setStatus(job, job.status === 'canceling' ? 'canceled' : state);
      break;
    default:
      return sendJson(res, 400, 400, { 'Job-Status': job.status });
  }
  ctx.store.emit('change');
  sendUpdated(ctx, res, job);
}

function sendUpdated(ctx: JobRouteContext, res: ServerResponse, job: StandinJob): void {
  sendJson(res, 200, 200, { 'Job-Status': job.status, 'X-GitLab-Trace-Update-Interval': String(ctx.traceUpdateIntervalSeconds()) });
}

/**
 * `PATCH jobs/:id/trace` (AppendBuildTraceService): appends the body at the Content-Range start when that equals
 * the stored length, else 416 with `Range: 0-<stored length>`. 202 with `Job-Status`, `Range` and
 * `X-GitLab-Trace-Update-Interval`; 400 without (or, when strict, with a malformed) Content-Range; 403 per
 * {@link authenticateJob} or when the log would exceed the size limit (the job fails with `trace_size_exceeded`).
 */
export async function patchTrace(ctx: JobRouteContext, id: number, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { body } = await readBody(req, ctx.maxTraceBytes + 1024 * 1024);
  const job = authenticateJob(ctx.store, id, jobToken(req, url), res);
  if (!job) return;
  const range = header(req, 'content-range');
  if (range === '') return sendError(res, 400, '400 Missing header Content-Range');
  const m = /^(\d+)-(\d+)$/.exec(range);
  if (!m) return sendError(res, 400, `400 Bad request - invalid Content-Range ${JSON.stringify(range)}`);
  const start = Number(m[1]);
  const end = start + body.length;
  if (ctx.strictContentRange && Number(m[2]) !== end - 1) {
    return sendError(res, 400, `400 Bad request - Content-Range ${range} does not match a body of ${body.length} bytes`);
  }
  if (end > ctx.maxTraceBytes) {
    job.finalState = { state: 'failed', failureReason: 'trace_size_exceeded', storedChecksum: checksumOf(job.trace), storedBytes: job.trace.length };
    ctx.store.setStatus(job, 'failed');
    return sendError(res, 403, '403 Forbidden');
  }
  if (start !== job.trace.length) {
    return sendError(res, 416, '416 Range Not Satisfiable', { Range: `0-${job.trace.length}` });
  }
  appendTrace(ctx.store, job, body);
  res.writeHead(202, {
    'Content-Type': 'application/json',
    'Job-Status': job.status,
    Range: `0-${job.trace.length}`,
    'X-GitLab-Trace-Update-Interval': String(ctx.traceUpdateIntervalSeconds()),
  });
  res.end();
}
