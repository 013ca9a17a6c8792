import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '@fleetrunner/common';
import type { ArtifactBackend } from '@fleetrunner/executor';
import { artifactSpoolDir, spoolArchive, zipFileToTar, type ArtifactSpec, type GitLabClient, type JobCredentials, type JobDependency } from '@fleetrunner/gitlab';

/** Options of a {@link GitLabArtifactBackend}. */
export interface GitLabArtifactOptions {
  client: GitLabClient;
  /** The running job (its token authenticates uploads, and downloads when a dependency carries none). */
  job: JobCredentials;
  /** `FF_USE_DIRECT_DOWNLOAD`: ask GitLab for a redirect to object storage. Default true. */
  directDownload?: boolean;
  /** Where archives are spooled (a private directory). Default: {@link artifactSpoolDir}. */
  tmpDir?: string;
  /** Cap on what one dependency archive may expand to, bytes. Default DEFAULT_MAX_EXTRACTED_BYTES (1 GiB). */
  maxExtractedBytes?: number;
  logger?: Logger;
}

/**
 * Artifacts through the GitLab API, as `gitlab-runner artifacts-uploader`/`-downloader` would do on the instance,
 * but from the manager: the executor's tar stream of each artifacts entry becomes the archive GitLab expects (zip,
 * gzip or raw), spooled to a temporary file so a retried or redirected upload can send it again; a dependency's
 * zip is downloaded to a temporary file and handed back as a tar stream.
 */
export class GitLabArtifactBackend implements ArtifactBackend {
  private readonly temps = new Set<string>();

  constructor(private readonly o: GitLabArtifactOptions) {}

  async upload(spec: ArtifactSpec, archive: Readable, options: { entries: readonly string[]; signal?: AbortSignal }): Promise<void> {
    const file = await this.tempFile();
    try {
      const { filename } = await this.spool(spec, archive, file, options.signal);
      await this.o.client.uploadArtifacts(this.o.job, {
        body: () => createReadStream(file),
        filename,
        format: spec.format || 'zip',
        ...(spec.type ? { type: spec.type } : {}),
        ...(spec.expireIn ? { expireIn: spec.expireIn } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } finally {
      await this.drop(file);
    }
  }

  async download(dependency: JobDependency, options: { signal?: AbortSignal }): Promise<Readable | undefined> {
    if (!dependency.artifactsFile) return undefined;
    const file = await this.tempFile();
    try {
      await this.o.client.downloadArtifacts({ id: dependency.id, token: dependency.token || this.o.job.token }, file, {
        directDownload: this.o.directDownload ?? true,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      await this.drop(file);
      throw err;
    }
    // The file stays listed until cleanup(): a stream destroyed before it was read never ran its own removal.
    return zipFileToTar(file, { removeAfter: true, ...(this.o.maxExtractedBytes !== undefined ? { maxBytes: this.o.maxExtractedBytes } : {}) });
  }

  /** Removes temporary files a failed job left behind. Idempotent. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.temps].map((f) => this.drop(f)));
  }

  /** Writes the archive GitLab expects for `spec` into `file` and checks it (see {@link spoolArchive}). */
  private async spool(spec: ArtifactSpec, archive: Readable, file: string, signal: AbortSignal | undefined): Promise<{ filename: string }> {
    const { filename, skipped } = await spoolArchive(spec, archive, file, signal);
    if (skipped.length > 0) this.o.logger?.warn('artifacts: special files are not stored in zip archives', { skipped: skipped.slice(0, 10) });
    return { filename };
  }

  /** A new empty file (mode 0600) in the private spool directory. */
  private async tempFile(): Promise<string> {
    const dir = this.o.tmpDir ?? (await artifactSpoolDir());
    const file = join(dir, `${this.o.job.id}-${randomBytes(6).toString('hex')}`);
    await (await open(file, 'wx', 0o600)).close();
    this.temps.add(file);
    return file;
  }

  private async drop(file: string): Promise<void> {
    this.temps.delete(file);
    await rm(file, { force: true });
  }
}
