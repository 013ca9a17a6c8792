import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJson, readBody, sendError, sendJson } from './http-util.js';
import type { JobSpec } from './payload.js';
import type { GitLabStandin } from './server.js';
import type { StandinJobStatus } from './types.js';

const STATES: readonly StandinJobStatus[] = ['pending', 'running', 'canceling', 'canceled', 'success', 'failed'];

function jobView(standin: GitLabStandin, id: number): unknown {
  const job = standin.jobs.get(id);
  if (!job) return undefined;
  return {
    id: job.id,
    status: job.status,
    trace: job.trace.toString('utf8'),
    final_state: job.finalState ?? null,
    artifacts: job.artifacts.map((a) => ({ type: a.type, format: a.format, filename: a.filename, size: a.data.length })),
  };
}

/**
 * Control endpoints under `/-/standin/` so the CLI stand-in can be driven from a demo script:
 * `POST runners` → `{id, token}`; `POST jobs` (a JobSpec) → `{id, token}`; `GET jobs/:id` → status, trace, final
 * state, artifacts; `GET jobs/:id/wait?state=a,b&timeout_ms=n` → the job once in one of the states (408 on
 * timeout); `POST jobs/:id/cancel[?force=true]`. Not part of GitLab's API.
 */
export async function admin(standin: GitLabStandin, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const p = url.pathname.replace(/^\/-\/standin\//, '');
  if (p === url.pathname) return false;
  const method = req.method ?? 'GET';
  const { body } = await readBody(req, 4 * 1024 * 1024);
  let m: RegExpExecArray | null;
  if (method === 'POST' && p === 'runners') {
    sendJson(res, 201, standin.registerRunner());
  } else if (method === 'POST' && p === 'jobs') {
    const spec = (parseJson(body) ?? {}) as JobSpec;
    const job = standin.enqueueJob(spec);
    sendJson(res, 201, { id: job.id, token: job.token });
  } else if (method === 'GET' && (m = /^jobs\/(\d+)$/.exec(p))) {
    const view = jobView(standin, Number(m[1]));
    if (view === undefined) sendError(res, 404, '404 Job Not Found');
    else sendJson(res, 200, view);
  } else if (method === 'GET' && (m = /^jobs\/(\d+)\/wait$/.exec(p))) {
    const id = Number(m[1]);
    if (!standin.jobs.has(id)) return (sendError(res, 404, '404 Job Not Found'), true);
    const wanted = (url.searchParams.get('state') ?? 'success,failed,canceled').split(',').filter((s): s is StandinJobStatus => (STATES as readonly string[]).includes(s));
    const timeout = Number(url.searchParams.get('timeout_ms') ?? 600_000);
    try {
      await standin.waitForJobState(id, wanted, { signal: AbortSignal.timeout(timeout) });
      sendJson(res, 200, jobView(standin, id));
    } catch {
      sendError(res, 408, '408 job did not reach the state in time');
    }
  } else if (method === 'POST' && (m = /^jobs\/(\d+)\/cancel$/.exec(p))) {
    const id = Number(m[1]);
    if (!standin.jobs.has(id)) return (sendError(res, 404, '404 Job Not Found'), true);
    standin.cancel(id, { force: url.searchParams.get('force') === 'true' });
    sendJson(res, 200, jobView(standin, id));
  } else {
    sendError(res, 404, '404 Not Found');
  }
  return true;
}
