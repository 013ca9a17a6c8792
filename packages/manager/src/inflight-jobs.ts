import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { toRunnerError, writeFileAtomic, type Logger } from '@fleetrunner/common';

/** A job this manager took from GitLab and has not finished reporting. */
export interface InflightJob {
  id: number;
  /** The job token: the only credential that can still fail the job after a crash. */
  token: string;
  /** GitLab base URL the job came from. */
  url: string;
  /** ms since the epoch. */
  startedAt: number;
}

function parse(text: string): InflightJob[] {
  const v: unknown = JSON.parse(text);
  const list = typeof v === 'object' && v !== null && 'jobs' in v && Array.isArray(v.jobs) ? (v.jobs as unknown[]) : [];
  const out: InflightJob[] = [];
  for (const j of list) {
    if (typeof j !== 'object' || j === null) continue;
    const o = j as Record<string, unknown>;
    if (typeof o['id'] === 'number' && typeof o['token'] === 'string' && typeof o['url'] === 'string') {
      out.push({ id: o['id'], token: o['token'], url: o['url'], startedAt: typeof o['startedAt'] === 'number' ? o['startedAt'] : 0 });
    }
  }
  return out;
}

/**
 * The jobs a runner is working on, persisted in one JSON file (mode 0600: it holds job tokens) so that a manager
 * killed mid-job can, at its next start, fail the jobs it abandoned instead of leaving them `running` at GitLab.
 * A job whose final state never reached GitLab (the final update gave up) stays here for the same reason.
 * Writes go through a temporary file and a rename; concurrent changes are coalesced into one write.
 */
export class InflightJobs {
  private readonly jobs = new Map<number, InflightJob>();
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads what a previous run left in the file ([] when absent or unreadable) and keeps those entries, so they
   * stay on disk until they are dealt with (`remove`) even when new jobs are recorded meanwhile.
   */
  async load(): Promise<InflightJob[]> {
    let found: InflightJob[];
    try {
      found = parse(await readFile(this.file, 'utf8'));
    } catch {
      found = [];
    }
    for (const j of found) this.jobs.set(j.id, j);
    return found;
  }

  /** Records a job; resolves once the record is on disk. */
  add(job: InflightJob): Promise<void> {
    this.jobs.set(job.id, job);
    return this.flush();
  }

  /** Forgets a job; resolves once that is on disk. */
  remove(id: number): Promise<void> {
    if (!this.jobs.delete(id)) return Promise.resolve();
    return this.flush();
  }

  get size(): number {
    return this.jobs.size;
  }

  private flush(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      const text = JSON.stringify({ jobs: [...this.jobs.values()] });
      try {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        await writeFileAtomic(this.file, text, { mode: 0o600 });
      } catch (err) {
        this.logger.warn('saving the list of running jobs failed', { file: this.file, error: toRunnerError(err).message });
      }
    }
  }
}
