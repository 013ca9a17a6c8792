import type { IncomingMessage, ServerResponse } from 'node:http';
import { field, parseJson, readBody, sendEmpty, sendError, sendJson } from './http-util.js';
import { randomToken, type StandinRunner, type Store } from './store.js';
import type { StandinJob } from './types.js';

/** What the runner routes need from the stand-in. */
export interface RunnerRouteContext {
  store: Store;
  registrationToken: string;
  longPollMs: number;
  /** Resolves when the server closes: held requests end then. */
  closing: AbortSignal;
  /** The wire body to send for a job being handed out. */
  payloadOf(job: StandinJob): unknown;
}

function details(r: StandinRunner): Record<string, unknown> {
  return { id: r.id, token: r.token, token_expires_at: r.tokenExpiresAt };
}

async function runnerFromBody(ctx: RunnerRouteContext, req: IncomingMessage): Promise<{ body: unknown; runner?: StandinRunner }> {
  const { body } = await readBody(req, 1024 * 1024);
  const parsed = parseJson(body);
  const runner = ctx.store.runners.get(field(parsed, 'token'));
  return runner ? { body: parsed, runner } : { body: parsed };
}

/** `POST runners/verify`: 200 with the runner's id, token and expiry; 403 for an unknown token. */
export async function verify(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body, runner } = await runnerFromBody(ctx, req);
  if (!runner) return sendError(res, 403, '403 Forbidden');
  const systemId = field(body, 'system_id');
  if (systemId) runner.managers.add(systemId);
  sendJson(res, 200, details(runner));
}

/** `POST runners` (legacy registration): 201 with a new runner; 403 for a wrong registration token. */
export async function register(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body } = await readBody(req, 1024 * 1024);
  if (field(parseJson(body), 'token') !== ctx.registrationToken) return sendError(res, 403, '403 Forbidden');
  const runner = ctx.store.addRunner(randomToken('t1_'));
  sendJson(res, 201, details(runner));
}

/** `DELETE runners`: 204; 403 for an unknown token. */
export async function unregister(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { runner } = await runnerFromBody(ctx, req);
  if (!runner) return sendError(res, 403, '403 Forbidden');
  ctx.store.runners.delete(runner.token);
  sendEmpty(res, 204);
}

/** `DELETE runners/managers`: 204; 404 for an unknown system id; 403 for an unknown token. */
export async function unregisterManager(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body, runner } = await runnerFromBody(ctx, req);
  if (!runner) return sendError(res, 403, '403 Forbidden');
  const systemId = field(body, 'system_id');
  if (systemId === '') return sendJson(res, 400, { error: 'system_id is missing' });
  if (!runner.managers.delete(systemId)) return sendError(res, 404, '404 Runner manager not found');
  sendEmpty(res, 204);
}

/** `POST runners/reset_authentication_token`: 201 with a new token; the old one stops working. */
export async function resetToken(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { runner } = await runnerFromBody(ctx, req);
  if (!runner) return sendError(res, 403, '403 Forbidden');
  ctx.store.runners.delete(runner.token);
  runner.token = randomToken('glrt-');
  if (runner.tokenLifetimeS !== undefined) runner.tokenExpiresAt = new Date(Date.now() + runner.tokenLifetimeS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  runner.tokenResets = (runner.tokenResets ?? 0) + 1;
  ctx.store.runners.set(runner.token, runner);
  ctx.store.emit('change');
  sendJson(res, 201, { token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

/**
 * `POST jobs/request`. Like Workhorse + Rails: a request whose `last_update` equals the queue version is held
 * (up to `longPollMs`) and answered 204 without a new version when something changes or the hold ends; otherwise
 * a job is handed out (201) or 204 with `X-GitLab-Last-Update`. 403 for an unknown token.
 */
export async function requestJob(ctx: RunnerRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body, runner } = await runnerFromBody(ctx, req);
  if (!runner) return sendError(res, 403, '403 Forbidden');
  const systemId = field(body, 'system_id');
  if (systemId) runner.managers.add(systemId);
  const features = (body as { info?: { features?: Record<string, unknown> } }).info?.features;
  runner.twoPhase = features?.['two_phase_job_commit'] === true;
  if (features) runner.features = features;
  const lastUpdate = field(body, 'last_update');
  const { store } = ctx;
  if (lastUpdate !== '' && lastUpdate === store.queueVersion && ctx.longPollMs > 0 && !runner.paused) {
    const hold = AbortSignal.any([AbortSignal.timeout(ctx.longPollMs), ctx.closing, abortOnClose(req, res)]);
    const version = store.queueVersion;
    store.holding++;
    store.emit('change');
    await store.waitFor(() => store.queueVersion !== version, hold).catch(() => undefined);
    store.holding--;
    store.emit('change');
    if (!res.writableEnded && !res.destroyed) sendEmpty(res, 204);
    return;
  }
  if (runner.paused || lastUpdate === store.queueVersion) {
    return sendEmpty(res, 204, { 'X-GitLab-Last-Update': store.queueVersion });
  }
  const job = store.take(runner.token);
  if (!job) return sendEmpty(res, 204, { 'X-GitLab-Last-Update': store.queueVersion });
  job.runnerToken = runner.token;
  job.awaitingAck = runner.twoPhase;
  store.setStatus(job, runner.twoPhase ? 'pending' : 'running');
  store.emit('change');
  sendJson(res, 201, ctx.payloadOf(job));
}

/** A signal that fires when the client goes away before we answered. */
function abortOnClose(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const c = new AbortController();
  res.once('close', () => c.abort());
  req.once('aborted', () => c.abort());
  return c.signal;
}
