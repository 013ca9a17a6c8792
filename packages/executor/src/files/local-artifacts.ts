import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactSpec, JobDependency } from '@fleetrunner/gitlab';
import type { ArtifactBackend } from '../job/types.js';
import type { ArchiveStore } from './stores.js';

/** Store key of a job's artifacts archive of a given type (`archive`, `junit`, …). */
export function artifactKey(jobId: number, type: string): string {
  return `job-${jobId}/${type || 'archive'}`;
}

/**
 * Artifacts kept on the manager as tar archives (for `runner exec`: artifacts pass between the jobs of a local
 * pipeline). Dependents download the `archive`-type artifacts, as GitLab hands them out.
 */
export class LocalArtifactBackend implements ArtifactBackend {
  constructor(
    private readonly store: ArchiveStore,
    private readonly jobId: number,
  ) {}

  async upload(spec: ArtifactSpec, archive: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
    const pending = await this.store.create(artifactKey(this.jobId, spec.type));
    try {
      await pipeline(archive, pending.stream, options.signal ? { signal: options.signal } : {});
      await pending.commit();
    } catch (err) {
      await pending.abort();
      throw err;
    }
  }

  async download(dependency: JobDependency): Promise<Readable | undefined> {
    return this.store.open(artifactKey(dependency.id, 'archive'));
  }
}
