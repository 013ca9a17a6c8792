import type { wire } from '@fleetrunner/gitlab';

/** A job's status as GitLab reports it in `Job-Status`. */
export type StandinJobStatus = 'pending' | 'running' | 'canceling' | 'canceled' | 'success' | 'failed';

/** The final state the runner reported (the last `PUT jobs/:id` with `success` or `failed`). */
export interface FinalState {
  state: 'success' | 'failed';
  failureReason?: string;
  exitCode?: number;
  /** `output.checksum` (or the deprecated top-level `checksum`) as sent. */
  checksum?: string;
  /** `output.bytesize` as sent. */
  bytesize?: number;
  /** `crc32:<hex>` of the trace the stand-in holds when the update arrived. */
  storedChecksum: string;
  /** The stored trace length when the update arrived. */
  storedBytes: number;
}

/** One uploaded artifact. */
export interface StoredArtifact {
  type: string;
  format: string;
  filename: string;
  expireIn?: string;
  data: Buffer;
}

/** A job the stand-in knows about. */
export interface StandinJob {
  readonly id: number;
  /** The job token (`glcbt-…`). */
  readonly token: string;
  /** The payload handed out (complete, wire form). */
  readonly payload: wire.WireJobResponse;
  status: StandinJobStatus;
  /** The runner token that picked the job up. */
  runnerToken?: string;
  /** Restrict the job to this runner token. */
  forRunner?: string;
  /** Handed out to a runner that advertised two_phase_job_commit and not yet confirmed with `state=running`. */
  awaitingAck: boolean;
  trace: Buffer;
  /** Every `PUT jobs/:id` body, in order. */
  readonly updates: wire.WireUpdateJobRequest[];
  finalState?: FinalState;
  readonly artifacts: StoredArtifact[];
  /** Extra fields to send verbatim over the payload (to hand out malformed jobs). */
  rawOverride?: Record<string, unknown>;
}

/** One request the stand-in answered. */
export interface RequestRecord {
  method: string;
  path: string;
  /** 0 for a request a `drop` or `hang` fault never answered. */
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The fault that took the request, when it got no answer. */
  fault?: 'drop' | 'hang';
}

/** A fault for the next matching request(s): a canned response, a dropped connection or no answer at all. */
export interface FaultSpec {
  method?: string;
  /** Matched against the path (without query); a string must be equal. */
  path: string | RegExp;
  /**
   * `respond` (default) answers with `status`/`headers`/`body`; `drop` destroys the connection without answering;
   * `hang` never answers (the request stays open until the client gives up). See gitlab-standin/faults.ts.
   */
  action?: 'respond' | 'drop' | 'hang';
  /** For `respond`; default 500. */
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string. */
  body?: unknown;
  /** How many requests it answers. Default 1. */
  times?: number;
}

/** Options of {@link startGitLabStandin}. */
export interface GitLabStandinOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How long `jobs/request` is held when `last_update` is current and the queue is empty, ms. Default 50 000 (Workhorse). 0 disables holding. */
  longPollMs?: number;
  /** `X-GitLab-Trace-Update-Interval` in seconds. Default 3. */
  traceUpdateIntervalSeconds?: number;
  /** Largest artifact upload, bytes; larger ones get 413. Default 100 MiB. */
  maxArtifactBytes?: number;
  /** Largest job log, bytes; a PATCH past it fails the job (`trace_size_exceeded`) with 403. Default 100 MiB. */
  maxTraceBytes?: number;
  /** Registration token for legacy `POST runners`. Default: a random one (see `registrationToken`). */
  registrationToken?: string;
  /** Reject a PATCH whose Content-Range end is not start + length − 1 with 400 (GitLab ignores the end). Default true. */
  strictContentRange?: boolean;
  /** Serve HTTPS with this certificate (PEM, e.g. signed by a CA the test made) and key; `url` is then `https://…`. */
  tls?: { cert: string; key: string };
}
