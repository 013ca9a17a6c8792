import { randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { RunnerError, type Logger } from '@fleetrunner/common';
import type { ArtifactBackend } from '@fleetrunner/executor';
import { listZip, writeZipFile, type ArtifactSpec, type GitLabClient, type JobCredentials, type JobDependency, type ZipEntrySource } from '@fleetrunner/gitlab';
import { tarFiles, tarToZipEntries, zipFileToTar } from './artifact-archives.js';

let spoolDir: Promise<string> | undefined;

/**
 * This process's private spool directory for artifact archives: made once with mkdtemp (mode 0700, a fresh name,
 * so a directory someone else made in the temp dir is never used) and removed when the process exits.
 */
export function artifactSpoolDir(): Promise<string> {
  spoolDir ??= mkdtemp(join(tmpdir(), 'fleetrunner-artifacts-')).then(
    (dir) => {
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    (err: unknown) => {
      spoolDir = undefined;
      throw new RunnerError('internal', `creating the artifacts spool directory in ${tmpdir()}: ${(err as Error).message}`, { cause: err });
    },
  );
  return spoolDir;
}

function integrity(what: string, problem: string): RunnerError {
  return new RunnerError('internal', `artifacts ${what}: the archive written for upload is not sound: ${problem}`);
}

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

  /**
   * Writes the archive GitLab expects for `spec` from the instance's tar stream into `file`, then checks what was
   * written (it reads back as its format, with every byte the tar held) before it may be uploaded.
   */
  private async spool(spec: ArtifactSpec, archive: Readable, file: string, signal: AbortSignal | undefined): Promise<{ filename: string }> {
    const base = spec.name || 'artifacts';
    const format = spec.format || 'zip';
    const opts = signal ? { signal } : {};
    if (format === 'gzip') {
      // One gzip member per file, concatenated, as the GitLab Runner helper writes it. Each member is written out
      // whole (the gzip stream read to its end) before the next begins.
      const fh = await open(file, 'w');
      let files = 0;
      let plain = 0;
      try {
        for await (const f of tarFiles(archive)) {
          files++;
          const counted = async function* (): AsyncGenerator<Buffer> {
            for await (const c of f.body) {
              plain += c.length;
              yield c;
            }
          };
          await pipeline(
            counted(),
            createGzip(),
            async (gz: AsyncIterable<Buffer>) => {
              for await (const c of gz) await fh.write(c);
            },
            opts,
          );
        }
      } finally {
        await fh.close();
      }
      if (files === 0) throw new RunnerError('invalid_argument', `artifacts ${base}: no file for the gzip format`);
      let unpacked = 0;
      try {
        await pipeline(createReadStream(file), createGunzip(), async (out: AsyncIterable<Buffer>) => {
          for await (const c of out) unpacked += c.length;
        });
      } catch (err) {
        throw integrity(base, `gunzip: ${(err as Error).message}`);
      }
      if (unpacked !== plain) throw integrity(base, `it gunzips to ${unpacked} bytes, the files hold ${plain}`);
      return { filename: `${base}.gz` };
    }
    if (format === 'raw') {
      let name = '';
      let plain = 0;
      for await (const f of tarFiles(archive)) {
        if (name) throw new RunnerError('invalid_argument', `artifacts ${base}: the raw format takes exactly one file, got ${name} and ${f.name}`);
        name = f.name;
        const fh = await open(file, 'w');
        try {
          for await (const c of f.body) {
            plain += c.length;
            await fh.write(c);
          }
        } finally {
          await fh.close();
        }
      }
      if (!name) throw new RunnerError('invalid_argument', `artifacts ${base}: no file for the raw format`);
      const size = (await stat(file)).size;
      if (size !== plain) throw integrity(base, `${size} bytes written, the file holds ${plain}`);
      return { filename: basename(name) };
    }
    if (format !== 'zip') throw new RunnerError('unsupported', `artifacts ${base}: artifact_format ${format} is not supported (use zip, gzip or raw)`);
    const skipped: string[] = [];
    let members = 0;
    let plain = 0;
    const entries = async function* (): AsyncGenerator<ZipEntrySource> {
      for await (const e of tarToZipEntries(archive, skipped)) {
        members++;
        if (!e.stream) {
          yield e;
          continue;
        }
        const body = e.stream;
        yield {
          ...e,
          stream: (async function* (): AsyncGenerator<Uint8Array> {
            for await (const c of body) {
              plain += c.length;
              yield c;
            }
          })(),
        };
      }
    };
    const written = await writeZipFile(file, entries(), opts);
    if (skipped.length > 0) this.o.logger?.warn('artifacts: special files are not stored in zip archives', { skipped: skipped.slice(0, 10) });
    const size = (await stat(file)).size;
    if (size !== written) throw integrity(base, `${size} bytes on disk, ${written} written`);
    let listed;
    try {
      listed = await listZip(file);
    } catch (err) {
      throw integrity(base, (err as Error).message);
    }
    const sizes = listed.reduce((n, e) => n + (e.isDirectory || e.isSymlink ? 0 : e.size), 0);
    if (listed.length !== members || sizes !== plain) throw integrity(base, `${listed.length} members of ${sizes} bytes, the tar held ${members} of ${plain}`);
    return { filename: `${base}.zip` };
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
