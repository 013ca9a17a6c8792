import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { wire } from '@fleetrunner/gitlab';
import type { FaultSpec, StandinJob, StandinJobStatus } from './types.js';

/** A registered runner. */
export interface StandinRunner {
  id: number;
  token: string;
  /** RFC 3339 or null. */
  tokenExpiresAt: string | null;
  /**
   * The token lifetime GitLab gives a reset token (the instance's runner token expiration interval), seconds; a
   * reset sets `tokenExpiresAt` to now + this. Undefined: a reset keeps `tokenExpiresAt`.
   */
  tokenLifetimeS?: number;
  /** Tokens reset so far (`POST runners/reset_authentication_token`). */
  tokenResets?: number;
  paused: boolean;
  /** System ids of the managers that contacted GitLab with this token. */
  managers: Set<string>;
  /** Whether the last job request advertised `two_phase_job_commit`. */
  twoPhase: boolean;
  /** `info.features` of the last job request. */
  features?: Record<string, unknown>;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random token with GitLab's alphabet: `prefix` + `length` characters. */
export function randomToken(prefix: string, length = 20): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/** `crc32:<8 hex>` of `data`, as GitLab Runner reports it. */
export function checksumOf(data: Uint8Array): string {
  return `crc32:${(crc32(data) >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * The stand-in's state: runners, jobs, the queue and its version (GitLab's runner queue value that `last_update`
 * echoes), canned faults. Emits `change` on every state change so waits and long polls can react without timers.
 */
export class Store extends EventEmitter {
  readonly runners = new Map<string, StandinRunner>();
  readonly jobs = new Map<number, StandinJob>();
  readonly queue: StandinJob[] = [];
  readonly faults: FaultSpec[] = [];
  /** `jobs/request` calls being held right now (long polling). */
  holding = 0;
  /** How many requests a fault took (see faults.ts). */
  faultsApplied = 0;
  private nextRunnerId = 1;
  private nextJobId = 1000;
  private version = 1;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** The current queue version (sent as `X-GitLab-Last-Update`). */
  get queueVersion(): string {
    return `v${this.version}`;
  }

  /** Bumps the queue version and wakes held requests. */
  tick(): void {
    this.version++;
    this.emit('change');
  }

  addRunner(token: string = randomToken('glrt-'), tokenExpiresAt: string | null = null): StandinRunner {
    const runner: StandinRunner = { id: this.nextRunnerId++, token, tokenExpiresAt, paused: false, managers: new Set(), twoPhase: false };
    this.runners.set(token, runner);
    return runner;
  }

  newJobId(): number {
    return this.nextJobId++;
  }

  addJob(job: StandinJob): void {
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.tick();
  }

  /** Takes the first queued job `runnerToken` may run. */
  take(runnerToken: string): StandinJob | undefined {
    const i = this.queue.findIndex((j) => j.status === 'pending' && (j.forRunner === undefined || j.forRunner === runnerToken));
    if (i < 0) return undefined;
    const [job] = this.queue.splice(i, 1);
    return job;
  }

  setStatus(job: StandinJob, status: StandinJobStatus): void {
    if (job.status === status) return;
    job.status = status;
    if (status !== 'pending') {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
    }
    this.emit('change');
  }

  /** The job whose token is `token`, if any. */
  jobByToken(token: string): StandinJob | undefined {
    if (token === '') return undefined;
    for (const j of this.jobs.values()) if (j.token === token) return j;
    return undefined;
  }

  /** Removes and returns the first fault matching the request. */
  takeFault(method: string, path: string): FaultSpec | undefined {
    const i = this.faults.findIndex((f) => (!f.method || f.method === method) && (typeof f.path === 'string' ? f.path === path : f.path.test(path)));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    const left = (f.times ?? 1) - 1;
    if (left <= 0) this.faults.splice(i, 1);
    else f.times = left;
    return f;
  }

  /** Resolves once `pred()` holds (checked now and on every change); rejects when `signal` aborts. */
  waitFor(pred: () => boolean, signal?: AbortSignal): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('wait aborted'));
      };
      const cleanup = (): void => {
        this.off('change', onChange);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      this.on('change', onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Appends to the job's trace (always at its end) and announces the change. */
export function appendTrace(store: Store, job: StandinJob, data: Buffer): void {
  job.trace = Buffer.concat([job.trace, data]);
  store.emit('change');
}

/** Whether a request with the job token may act on the job (GitLab: running or canceling, or awaiting ack). */
export function processingOnRunner(job: StandinJob): boolean {
  return job.status === 'running' || job.status === 'canceling' || (job.status === 'pending' && job.awaitingAck);
}

/** The wire body of the PUT that carried the final state, if any. */
export type UpdateBody = wire.WireUpdateJobRequest;
