import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RunnerError, type Logger } from '@fleetrunner/common';
import type { ArtifactBackend } from '@fleetrunner/executor';
import { writeZipFile, type ArtifactSpec, type GitLabClient, type JobCredentials, type JobDependency } from '@fleetrunner/gitlab';
import { tarFiles, tarToZipEntries, zipFileToTar } from './artifact-archives.js';

/** Options of a {@link GitLabArtifactBackend}. */
export interface GitLabArtifactOptions {
  client: GitLabClient;
  /** The running job (its token authenticates uploads, and downloads when a dependency carries none). */
  job: JobCredentials;
  /** `FF_USE_DIRECT_DOWNLOAD`: ask GitLab for a redirect to object storage. Default true. */
  directDownload?: boolean;
  /** Where archives are spooled. Default: the OS temp dir. */
  tmpDir?: string;
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
    const tar = zipFileToTar(file, { removeAfter: true });
    tar.once('close', () => this.temps.delete(file));
    return tar;
  }

  /** Removes temporary files a failed job left behind. Idempotent. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.temps].map((f) => this.drop(f)));
  }

  private async spool(spec: ArtifactSpec, archive: Readable, file: string, signal: AbortSignal | undefined): Promise<{ filename: string }> {
    const base = spec.name || 'artifacts';
    const format = spec.format || 'zip';
    if (format === 'gzip') {
      // One gzip member per file, concatenated, as the GitLab Runner helper writes it.
      const out = createWriteStream(file);
      try {
        for await (const f of tarFiles(archive)) {
          const gz = createGzip();
          gz.pipe(out, { end: false });
          await pipeline(f.body, gz, signal ? { signal } : {});
        }
      } finally {
        await new Promise<void>((resolve) => out.end(() => resolve()));
      }
      return { filename: `${base}.gz` };
    }
    if (format === 'raw') {
      let name = '';
      for await (const f of tarFiles(archive)) {
        if (name) throw new RunnerError('invalid_argument', `artifacts ${base}: the raw format takes exactly one file, got ${name} and ${f.name}`);
        name = f.name;
        await pipeline(f.body, createWriteStream(file), signal ? { signal } : {});
      }
      if (!name) throw new RunnerError('invalid_argument', `artifacts ${base}: no file for the raw format`);
      return { filename: basename(name) };
    }
    if (format !== 'zip') throw new RunnerError('unsupported', `artifacts ${base}: artifact_format ${format} is not supported (use zip, gzip or raw)`);
    const skipped: string[] = [];
    await writeZipFile(file, tarToZipEntries(archive, skipped), signal ? { signal } : {});
    if (skipped.length > 0) this.o.logger?.warn('artifacts: hard links and special files are not stored in zip archives', { skipped: skipped.slice(0, 10) });
    return { filename: `${base}.zip` };
  }

  private async tempFile(): Promise<string> {
    const dir = this.o.tmpDir ?? join(tmpdir(), 'fleetrunner-artifacts');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${this.o.job.id}-${randomBytes(6).toString('hex')}`);
    this.temps.add(file);
    return file;
  }

  private async drop(file: string): Promise<void> {
    this.temps.delete(file);
    await rm(file, { force: true });
  }
}
