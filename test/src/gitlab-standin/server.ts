import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { sendError } from './http-util.js';
import { Store, randomToken, type StandinRunner } from './store.js';
import { buildPayload, type JobSpec } from './payload.js';
import * as runnerRoutes from './runner-routes.js';
import * as jobRoutes from './job-routes.js';
import * as artifactRoutes from './artifact-routes.js';
import { matchRepo, serveGit, type GitRepo } from './git-http.js';
import { admin } from './admin-routes.js';
import { applyFault, clearFaults } from './faults.js';
import type { FaultSpec, FinalState, GitLabStandinOptions, RequestRecord, StandinJob, StandinJobStatus, StoredArtifact } from './types.js';

/** A running GitLab stand-in. */
export interface GitLabStandin {
  /** Base URL (`http://127.0.0.1:<port>`), what a runner's `url` points at. */
  readonly url: string;
  /** The token for legacy `POST runners`. */
  readonly registrationToken: string;
  /** Every job, by id. */
  readonly jobs: ReadonlyMap<number, StandinJob>;
  /** Every request answered, in order (for assertions on headers). */
  readonly requests: readonly RequestRecord[];
  /** `jobs/request` calls being held (long polling) right now. */
  readonly heldRequests: number;
  /** `X-GitLab-Trace-Update-Interval` sent from now on, seconds. */
  traceUpdateIntervalSeconds: number;
  /** Creates a runner as the GitLab UI does; returns its `glrt-` token and id. */
  registerRunner(options?: { token?: string; tokenExpiresAt?: string | null; tokenLifetimeS?: number; paused?: boolean }): { id: number; token: string };
  /** The runner with this id as the stand-in holds it now (its current token after resets). */
  runnerById(id: number): StandinRunner | undefined;
  /** Queues a job; returns it (its id and token are final). */
  enqueueJob(spec?: JobSpec): StandinJob;
  /**
   * Adds a job that ran elsewhere and succeeded (never queued) holding `artifacts` as if it had uploaded them, with
   * any bytes: a dependent job downloads them (see {@link dependencyOn}).
   */
  plantJob(spec?: JobSpec, artifacts?: StoredArtifact[]): StandinJob;
  /** The stored job log (UTF-8). */
  traceOf(id: number): string;
  /** The final state the runner reported. */
  finalStateOf(id: number): FinalState | undefined;
  artifactsOf(id: number): StoredArtifact[];
  /** GitLab's cancel: a running job becomes `canceling` (graceful) or, with `force`, `canceled`; a queued job `canceled`. */
  cancel(id: number, options?: { force?: boolean }): void;
  /** Fails the job on GitLab's side (e.g. an administrator action). */
  failJob(id: number, reason?: string): void;
  /** Drops the stored trace past `length` bytes (the next PATCH gets 416 and must resync). */
  truncateTrace(id: number, length: number): void;
  /** Resolves when job `id` is in `state` (or one of them). */
  waitForJobState(id: number, state: StandinJobStatus | readonly StandinJobStatus[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Resolves when the stored trace of job `id` satisfies `pred`. */
  waitForTrace(id: number, pred: (trace: string) => boolean, options?: { signal?: AbortSignal }): Promise<void>;
  /** Resolves when `pred` holds over the stand-in's state (re-checked on every change). */
  waitFor(pred: () => boolean, options?: { signal?: AbortSignal }): Promise<void>;
  /** Answers the next matching request(s) with a canned response, a dropped connection or never (see faults.ts). */
  failNext(fault: FaultSpec): void;
  /** Removes the queued faults for `path` (all without one): the end of an outage. Returns how many. */
  clearFaults(path?: string | RegExp): number;
  /** How many requests a fault took so far. */
  readonly faultsApplied: number;
  /** `info.features` the runner with `token` sent with its last job request. */
  featuresOf(token: string): Record<string, unknown> | undefined;
  /** Serves the repository at `dir` as `<url>/<name>.git` through `git http-backend`. */
  addGitRepo(name: string, dir: string, options?: { public?: boolean }): string;
  /** Stops listening, ends held requests and open connections. Idempotent. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, m: RegExpExecArray) => void | Promise<void>;

/** Starts the stand-in on `options.port` (default: a free port). */
export async function startGitLabStandin(options: GitLabStandinOptions = {}): Promise<GitLabStandin> {
  const store = new Store();
  const closing = new AbortController();
  const repos: GitRepo[] = [];
  const requests: RequestRecord[] = [];
  const objects = new Map<string, { data: Buffer; filename: string }>();
  const registrationToken = options.registrationToken ?? randomToken('GR1348941');
  let baseUrl = '';
  const settings = { traceUpdateIntervalSeconds: options.traceUpdateIntervalSeconds ?? 3 };
  const payloadOf = (job: StandinJob): unknown => ({ ...job.payload, ...job.rawOverride });
  const runnerCtx: runnerRoutes.RunnerRouteContext = { store, registrationToken, longPollMs: options.longPollMs ?? 50_000, closing: closing.signal, payloadOf };
  const jobCtx: jobRoutes.JobRouteContext = {
    store,
    traceUpdateIntervalSeconds: () => settings.traceUpdateIntervalSeconds,
    maxTraceBytes: options.maxTraceBytes ?? 100 * 1024 * 1024,
    strictContentRange: options.strictContentRange ?? true,
  };
  const artifactCtx: artifactRoutes.ArtifactRouteContext = { store, maxArtifactBytes: options.maxArtifactBytes ?? 100 * 1024 * 1024, objects };
  const id = (m: RegExpExecArray): number => Number(m[1]);
  const routes: [string, RegExp, Handler][] = [
    ['POST', /^\/api\/v4\/runners\/verify$/, (req, res) => runnerRoutes.verify(runnerCtx, req, res)],
    ['POST', /^\/api\/v4\/runners$/, (req, res) => runnerRoutes.register(runnerCtx, req, res)],
    ['DELETE', /^\/api\/v4\/runners$/, (req, res) => runnerRoutes.unregister(runnerCtx, req, res)],
    ['DELETE', /^\/api\/v4\/runners\/managers$/, (req, res) => runnerRoutes.unregisterManager(runnerCtx, req, res)],
    ['POST', /^\/api\/v4\/runners\/reset_authentication_token$/, (req, res) => runnerRoutes.resetToken(runnerCtx, req, res)],
    ['POST', /^\/api\/v4\/jobs\/request$/, (req, res) => runnerRoutes.requestJob(runnerCtx, req, res)],
    ['PUT', /^\/api\/v4\/jobs\/(\d+)$/, (req, res, url, m) => jobRoutes.updateJob(jobCtx, id(m), req, res, url)],
    ['PATCH', /^\/api\/v4\/jobs\/(\d+)\/trace$/, (req, res, url, m) => jobRoutes.patchTrace(jobCtx, id(m), req, res, url)],
    ['POST', /^\/api\/v4\/jobs\/(\d+)\/artifacts$/, (req, res, url, m) => artifactRoutes.uploadArtifacts(artifactCtx, id(m), req, res, url)],
    ['GET', /^\/api\/v4\/jobs\/(\d+)\/artifacts$/, (req, res, url, m) => artifactRoutes.downloadArtifacts(artifactCtx, id(m), req, res, url)],
    ['GET', /^\/object-storage\/([0-9a-f]+)$/, (_req, res, _url, m) => artifactRoutes.objectStorage(artifactCtx, m[1]!, res)],
  ];

  const ref: { standin?: GitLabStandin } = {};
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    res.on('finish', () => requests.push({ method, path: url.pathname, status: res.statusCode, headers: { ...req.headers } }));
    const fault = store.takeFault(method, url.pathname);
    if (fault) return applyFault(store, fault, req, res, (r) => requests.push(r));
    if (url.pathname.startsWith('/-/standin/') && ref.standin) {
      await admin(ref.standin, req, res, url);
      return;
    }
    for (const [m, re, h] of routes) {
      const match = re.exec(url.pathname);
      if (match && m === method) return h(req, res, url, match);
    }
    const git = matchRepo(repos, url.pathname);
    if (git) return serveGit(store, git, req, res, url);
    for await (const _ of req) void _;
    sendError(res, 404, '404 Not Found');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `500 Internal Server Error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  baseUrl = `${options.tls ? 'https' : 'http'}://${host}:${addr.port}`;

  const job = (jobId: number): StandinJob => {
    const j = store.jobs.get(jobId);
    if (!j) throw new Error(`stand-in: no job ${jobId}`);
    return j;
  };
  let closed: Promise<void> | undefined;
  const newJob = (spec: JobSpec): StandinJob => {
    const jobId = store.newJobId();
    const token = randomToken('glcbt-');
    const repo = repos.find((r) => r.name === spec.repo);
    const sha = repo ? headSha(repo.dir) : '';
    const j: StandinJob = {
      id: jobId,
      token,
      payload: buildPayload(jobId, token, baseUrl, spec, sha),
      status: 'pending',
      awaitingAck: false,
      trace: Buffer.alloc(0),
      updates: [],
      artifacts: [],
    };
    if (spec.runnerToken) j.forRunner = spec.runnerToken;
    if (spec.rawOverride) j.rawOverride = spec.rawOverride;
    return j;
  };

  const standin: GitLabStandin = {
    url: baseUrl,
    registrationToken,
    jobs: store.jobs,
    requests,
    get heldRequests() {
      return store.holding;
    },
    get traceUpdateIntervalSeconds() {
      return settings.traceUpdateIntervalSeconds;
    },
    set traceUpdateIntervalSeconds(v: number) {
      settings.traceUpdateIntervalSeconds = v;
    },
    registerRunner(o = {}) {
      const r: StandinRunner = store.addRunner(o.token, o.tokenExpiresAt ?? null);
      r.paused = o.paused ?? false;
      if (o.tokenLifetimeS !== undefined) r.tokenLifetimeS = o.tokenLifetimeS;
      return { id: r.id, token: r.token };
    },
    runnerById(id) {
      return [...store.runners.values()].find((r) => r.id === id);
    },
    enqueueJob(spec = {}) {
      const j = newJob(spec);
      store.addJob(j);
      return j;
    },
    plantJob(spec = {}, artifacts = []) {
      const j = newJob(spec);
      j.status = 'success';
      j.artifacts.push(...artifacts);
      store.jobs.set(j.id, j);
      store.emit('change');
      return j;
    },
    traceOf: (jobId) => job(jobId).trace.toString('utf8'),

    finalStateOf: (jobId) => job(jobId).finalState,
    artifactsOf: (jobId) => job(jobId).artifacts,
    cancel(jobId, o = {}) {
      const j = job(jobId);
      if (j.status === 'pending' && !j.runnerToken) store.setStatus(j, 'canceled');
      else if (j.status === 'running' || j.status === 'pending' || j.status === 'canceling') store.setStatus(j, o.force ? 'canceled' : 'canceling');
      store.tick();
    },
    failJob(jobId, reason = 'unknown_failure') {
      const j = job(jobId);
      j.finalState ??= { state: 'failed', failureReason: reason, storedChecksum: '', storedBytes: j.trace.length };
      store.setStatus(j, 'failed');
    },
    truncateTrace(jobId, length) {
      const j = job(jobId);
      j.trace = Buffer.from(j.trace.subarray(0, length));
      store.emit('change');
    },
    waitForJobState(jobId, state, o = {}) {
      const states: readonly string[] = typeof state === 'string' ? [state] : state;
      return store.waitFor(() => states.includes(job(jobId).status), o.signal);
    },
    waitForTrace(jobId, pred, o = {}) {
      return store.waitFor(() => pred(job(jobId).trace.toString('utf8')), o.signal);
    },
    waitFor: (pred, o = {}) => store.waitFor(pred, o.signal),
    failNext(fault) {
      store.faults.push({ ...fault });
    },
    clearFaults: (path) => clearFaults(store, path),
    get faultsApplied() {
      return store.faultsApplied;
    },
    featuresOf: (token) => store.runners.get(token)?.features,
    addGitRepo(name, dir, o = {}) {
      const clean = name.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
      repos.push({ name: clean, dir, public: o.public ?? false });
      return `${baseUrl}/${clean}.git`;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  ref.standin = standin;
  return standin;
}

/** The commit HEAD points at in `dir` ('' when it has none). */
function headSha(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
