import { RunnerError, nullLogger, type Logger } from '@fleetrunner/common';
import { ApiTransport, discard, messageOf, type ApiTransportOptions } from './http.js';
import { codeForStatus, statusError } from './errors.js';
import { parseJobPayload } from './payload-validate.js';
import { isAborted, remoteJobState, type PatchTraceResult, type UpdateJobResult } from './results.js';
import { runnerInfo, type RunnerInfo } from './runner-info.js';
import { downloadArtifacts, uploadArtifacts, type DownloadArtifactsOptions, type UploadArtifactsOptions } from './artifacts.js';
import type { JobCredentials, JobPayload } from './job-payload.js';
import type { WireJobRequest, WireRegisterRunnerRequest, WireUpdateJobRequest } from './wire.js';

/** Options of a {@link GitLabClient}: one per runner token. */
export interface GitLabClientOptions extends ApiTransportOptions {
  /** The runner authentication token (`glrt-…` or legacy). */
  token: string;
  /** `s_…`/`r_…` system id of this manager; sent with every runner-scoped call. */
  systemId?: string;
  /** Runner `info` (version, features). Default: {@link runnerInfo} for version `0.0.0`. */
  info?: RunnerInfo;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** What one `jobs/request` got: the job (201), none (204 or another status), the request's own status. */
export interface JobRequestResult {
  job?: JobPayload;
  /** HTTP status of the last attempt. */
  status: number;
  /** Attempts retried after a retryable status (429, 5xx) within this request. */
  retries: number;
}

/** Runner credentials as GitLab returns them from verify, register and reset. */
export interface RunnerCredentials {
  /** Runner id; absent from legacy plain-text verify responses and token resets. */
  id?: number;
  token: string;
  /** Absent when the token does not expire. */
  tokenExpiresAt?: Date;
}

/** A job state change sent with `PUT jobs/:id`. */
export interface JobUpdate {
  state: 'pending' | 'running' | 'success' | 'failed';
  /** Already mapped to what GitLab accepts (see mapFailureReason). */
  failureReason?: string;
  exitCode?: number;
  /** `crc32:<8 hex>` of the trace. */
  checksum?: string;
  /** Trace length in bytes. */
  bytesize?: number;
  runtimeEnvironmentKey?: string;
}

/** Legacy registration parameters (`POST runners`). */
export interface RegisterParameters {
  description?: string;
  maintenanceNote?: string;
  tags?: string[];
  runUntagged?: boolean;
  locked?: boolean;
  accessLevel?: 'not_protected' | 'ref_protected';
  maximumTimeoutSeconds?: number;
  paused?: boolean;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

/**
 * The GitLab runner API as the manager uses it. Runner-scoped calls authenticate with the runner token (body
 * `token` and `RUNNER-TOKEN`), job-scoped calls with the job token (`JOB-TOKEN`). Retryable statuses are retried
 * by the transport; what remains is mapped to results (job updates, trace patches) or RunnerErrors.
 */
export class GitLabClient {
  readonly transport: ApiTransport;
  private readonly token: string;
  private readonly systemId: string | undefined;
  private readonly info: RunnerInfo;
  private readonly logger: Logger;

  constructor(options: GitLabClientOptions) {
    if (options.token.trim() === '') throw new RunnerError('invalid_argument', 'runner token is empty');
    this.info = options.info ?? runnerInfo({ version: '0.0.0' });
    const userAgent = `gitlab-runner ${this.info.version ?? '0.0.0'} (fleetrunner; node ${process.version}; ${process.platform}/${process.arch})`;
    this.transport = new ApiTransport({ userAgent, ...options });
    this.token = options.token;
    this.systemId = options.systemId;
    this.logger = (options.logger ?? nullLogger).child({ component: 'gitlab' });
  }

  /** The last `X-GitLab-Last-Update` seen; sent back as `last_update` by {@link requestJob}. */
  get lastUpdate(): string {
    return this.transport.lastUpdate;
  }

  /** `POST runners/verify`: checks the token. 403 → `auth_failed`. A legacy plain-text 200 is accepted. */
  async verifyRunner(options: CallOptions = {}): Promise<RunnerCredentials> {
    const body = { token: this.token, system_id: this.systemId, info: this.info };
    const res = await this.sendJson('verify', 'POST', 'runners/verify', body, options);
    if (res.status === 403) throw await failure('verifying runner', res, 'forbidden: the token is invalid or the runner was removed');
    if (res.status !== 200) throw await failure('verifying runner', res);
    if (!isJson(res)) {
      await discard(res);
      return { token: this.token };
    }
    return credentialsFrom(await readJson(res, 'verifying runner'), this.token);
  }

  /** `POST runners` with a legacy registration token: 201 → the new runner's credentials; 403 → `auth_failed`. */
  async registerRunner(registrationToken: string, params: RegisterParameters = {}, options: CallOptions = {}): Promise<RunnerCredentials> {
    const body: WireRegisterRunnerRequest = { token: registrationToken, info: this.info };
    if (params.description !== undefined) body.description = params.description;
    if (params.maintenanceNote !== undefined) body.maintenance_note = params.maintenanceNote;
    if (params.tags) body.tag_list = params.tags.join(',');
    if (params.runUntagged !== undefined) body.run_untagged = params.runUntagged;
    if (params.locked !== undefined) body.locked = params.locked;
    if (params.accessLevel !== undefined) body.access_level = params.accessLevel;
    if (params.maximumTimeoutSeconds !== undefined) body.maximum_timeout = params.maximumTimeoutSeconds;
    if (params.paused !== undefined) body.paused = params.paused;
    const res = await this.transport.send({ endpoint: 'register', method: 'POST', path: 'runners', headers: JSON_HEADERS, body: () => JSON.stringify(body), secrets: [registrationToken], ...signalOf(options) });
    if (res.status !== 201) throw await failure('registering runner', res, res.status === 403 ? 'forbidden: check the registration token' : undefined);
    return credentialsFrom(await readJson(res, 'registering runner'), '');
  }

  /** `DELETE runners` (legacy tokens). */
  async unregisterRunner(options: CallOptions = {}): Promise<void> {
    const res = await this.sendJson('unregister', 'DELETE', 'runners', { token: this.token }, options);
    if (res.status !== 204) throw await failure('unregistering runner', res);
    await discard(res);
  }

  /** `DELETE runners/managers` (`glrt-` tokens): removes this system id's manager entry. */
  async unregisterManager(options: CallOptions = {}): Promise<void> {
    const res = await this.sendJson('unregister_manager', 'DELETE', 'runners/managers', { token: this.token, system_id: this.systemId ?? '' }, options);
    if (res.status !== 204) throw await failure('unregistering runner manager', res);
    await discard(res);
  }

  /** `POST runners/reset_authentication_token`: 201 → the new token (use a new client with it). */
  async resetToken(options: CallOptions = {}): Promise<RunnerCredentials> {
    const res = await this.sendJson('reset_token', 'POST', 'runners/reset_authentication_token', { token: this.token }, options);
    if (res.status !== 201) throw await failure('resetting runner token', res);
    return credentialsFrom(await readJson(res, 'resetting runner token'), '');
  }

  /**
   * `POST jobs/request` (long poll): a validated job on 201, none on 204, with this request's own HTTP status and
   * whether it was retried (for back-off and the adaptive request limit: concurrent requests each get theirs).
   * 403 → `auth_failed`; transport failure → `unavailable`/`connection_refused` (both count against runner health).
   * Other statuses (503 after retries, 409, …) are logged and read as "no job". A malformed payload throws a
   * JobPayloadError naming the field, with the job's id and token when readable so the job can be failed.
   */
  async requestJob(options: CallOptions & { session?: WireJobRequest['session'] } = {}): Promise<JobRequestResult> {
    const body: WireJobRequest = { info: this.info, token: this.token };
    if (this.systemId) body.system_id = this.systemId;
    if (this.transport.lastUpdate) body.last_update = this.transport.lastUpdate;
    if (options.session) body.session = options.session;
    let retries = 0;
    const text = JSON.stringify(body);
    const res = await this.transport.send({
      endpoint: 'request_job',
      method: 'POST',
      path: 'jobs/request',
      headers: { ...JSON_HEADERS, 'RUNNER-TOKEN': this.token },
      body: () => text,
      onRetry: () => retries++,
      ...signalOf(options),
    });
    const status = res.status;
    if (status === 204) {
      await discard(res);
      return { status, retries };
    }
    if (status === 403) throw await failure('requesting job', res, 'forbidden');
    if (status !== 201) {
      this.logger.warn('checking for jobs... failed', { status, message: await messageOf(res) });
      return { status, retries };
    }
    if (!isJson(res)) {
      // Never quote this body: it is a job payload (job token, variables, credentials), whatever its type says.
      await discard(res);
      throw new RunnerError('invalid_argument', `requesting job: HTTP 201 with unexpected content type ${res.headers.get('content-type') ?? '(none)'}`, { details: { status: 201 } });
    }
    return { job: parseJobPayload(await readJson(res, 'requesting job')), status, retries };
  }

  /**
   * `PUT jobs/:id`: reports state, trace checksum/size, failure reason and exit code. Never throws for HTTP or
   * transport failures: a request that got no response (dropped connection, timeout) is `failed` with
   * `transportError` set, to be retried like a 5xx (GitLab Runner: UpdateFailed), since GitLab may never have seen it.
   */
  async updateJob(job: JobCredentials, update: JobUpdate, options: CallOptions = {}): Promise<UpdateJobResult> {
    const body: WireUpdateJobRequest = { info: this.info, token: job.token, state: update.state };
    if (update.failureReason) body.failure_reason = update.failureReason;
    if (update.checksum) body.checksum = update.checksum;
    if (update.checksum || update.bytesize) body.output = { checksum: update.checksum ?? '', bytesize: update.bytesize ?? 0 };
    if (update.exitCode) body.exit_code = update.exitCode;
    if (update.runtimeEnvironmentKey) body.runtime_environment_key = update.runtimeEnvironmentKey;
    let res: Response;
    try {
      res = await this.transport.send({
        endpoint: 'update_job',
        method: 'PUT',
        path: `jobs/${job.id}`,
        headers: { ...JSON_HEADERS, 'JOB-TOKEN': job.token },
        body: () => JSON.stringify(body),
        ...signalOf(options),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return { outcome: 'failed', status: 0, jobStatus: '', cancelRequested: false, transportError: RunnerError.wrap('updating job', err) };
    }
    await discard(res);
    const state = remoteJobState(res);
    const outcome = isAborted(state) || res.status === 404 ? 'abort' : res.status === 200 ? 'ok' : res.status === 202 ? 'accepted' : res.status === 412 ? 'trace_invalid' : 'failed';
    this.logger.debug('submitting job to coordinator', { job: job.id, state: update.state, status: res.status, jobStatus: state.jobStatus, outcome });
    return { ...state, outcome };
  }

  /**
   * `PATCH jobs/:id/trace`: appends `content` at `offset` (`Content-Range: <start>-<end inclusive>`). 416 gives
   * the server's length as `sentOffset` to resend from. Never throws for HTTP or transport failures.
   */
  async patchTrace(job: JobCredentials, content: Uint8Array, offset: number, options: CallOptions & { debugTrace?: boolean } = {}): Promise<PatchTraceResult> {
    if (content.length === 0) return { outcome: 'ok', sentOffset: offset, status: 0, jobStatus: '', cancelRequested: false };
    const end = offset + content.length;
    let res: Response;
    try {
      res = await this.transport.send({
        endpoint: 'patch_trace',
        method: 'PATCH',
        path: `jobs/${job.id}/trace?debug_trace=${options.debugTrace === true}`,
        headers: { 'Content-Type': 'text/plain', 'Content-Range': `${offset}-${end - 1}`, 'JOB-TOKEN': job.token },
        body: () => content,
        ...signalOf(options),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      return { outcome: 'failed', sentOffset: offset, status: 0, jobStatus: '', cancelRequested: false, transportError: RunnerError.wrap('appending trace', err) };
    }
    await discard(res);
    const state = remoteJobState(res);
    if (isAborted(state)) return { ...state, outcome: 'abort', sentOffset: offset };
    if (res.status === 202) return { ...state, outcome: 'ok', sentOffset: end };
    if (res.status === 404) return { ...state, outcome: 'not_found', sentOffset: offset };
    if (res.status === 416) return { ...state, outcome: 'range_mismatch', sentOffset: rangeEnd(res.headers.get('range')) };
    return { ...state, outcome: 'failed', sentOffset: offset };
  }

  /** `POST jobs/:id/artifacts`: uploads one archive as multipart `file`. See {@link uploadArtifacts}. */
  uploadArtifacts(job: JobCredentials, upload: UploadArtifactsOptions): Promise<void> {
    return uploadArtifacts(this.transport, job, upload);
  }

  /** `GET jobs/:id/artifacts` with a dependency's token, streamed to `file`. Resolves to the byte count. */
  downloadArtifacts(dependency: JobCredentials, file: string, options: DownloadArtifactsOptions = {}): Promise<number> {
    return downloadArtifacts(this.transport, dependency, file, options);
  }

  private sendJson(endpoint: string, method: 'POST' | 'DELETE', path: string, body: object, options: CallOptions): Promise<Response> {
    const text = JSON.stringify(body);
    return this.transport.send({ endpoint, method, path, headers: { ...JSON_HEADERS, 'RUNNER-TOKEN': this.token }, body: () => text, ...signalOf(options) });
  }
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function isJson(res: Response): boolean {
  return /^application\/json\b/i.test(res.headers.get('content-type') ?? '');
}

async function readJson(res: Response, context: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new RunnerError('invalid_argument', `${context}: response is not valid JSON`, { details: { status: res.status } });
  }
}

async function failure(context: string, res: Response, explanation?: string): Promise<RunnerError> {
  const message = await messageOf(res);
  const text = [explanation, message].filter((s) => s).join(': ');
  return new RunnerError(codeForStatus(res.status), statusError(context, res.status, text).message, { details: { status: res.status } });
}

function credentialsFrom(v: unknown, fallbackToken: string): RunnerCredentials {
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const out: RunnerCredentials = { token: typeof o['token'] === 'string' && o['token'] !== '' ? o['token'] : fallbackToken };
  if (typeof o['id'] === 'number') out.id = o['id'];
  if (typeof o['token_expires_at'] === 'string' && o['token_expires_at'] !== '') {
    const at = new Date(o['token_expires_at']);
    if (!Number.isNaN(at.getTime()) && at.getTime() > 0) out.tokenExpiresAt = at;
  }
  return out;
}

/** `0-<n>` → n (GitLab's Range header on trace responses); 0 when unparsable. */
function rangeEnd(range: string | null): number {
  const m = /^\s*\d+-(\d+)\s*$/.exec(range ?? '');
  return m ? Number(m[1]) : 0;
}
