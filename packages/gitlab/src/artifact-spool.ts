import { createReadStream, rmSync } from 'node:fs';
import { mkdtemp, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { RunnerError } from '@fleetrunner/common';
import { tarFiles, tarToZipEntries } from './artifact-archives.js';
import type { ArtifactSpec } from './job-payload.js';
import { listZip } from './zip-reader.js';
import { writeZipFile, type ZipEntrySource } from './zip-writer.js';

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

/**
 * Writes the archive GitLab expects for `spec` (zip, gzip or raw) from the instance's tar stream into `file`, then
 * reads it back: it must parse as its format and hold every byte the tar's files held, or this throws and nothing
 * is uploaded. `skipped`: special files a zip cannot hold.
 */
export async function spoolArchive(spec: ArtifactSpec, archive: Readable, file: string, signal: AbortSignal | undefined): Promise<{ filename: string; skipped: string[] }> {
  const base = spec.name || 'artifacts';
  const format = spec.format || 'zip';
  if (format === 'gzip') return { filename: await spoolGzip(base, archive, file, signal), skipped: [] };
  if (format === 'raw') return { filename: await spoolRaw(base, archive, file), skipped: [] };
  if (format !== 'zip') throw new RunnerError('unsupported', `artifacts ${base}: artifact_format ${format} is not supported (use zip, gzip or raw)`);
  const skipped: string[] = [];
  return { filename: await spoolZip(base, archive, file, skipped, signal), skipped };
}

/** One gzip member per file, concatenated, as the GitLab Runner helper writes it; each written out whole. */
async function spoolGzip(base: string, archive: Readable, file: string, signal: AbortSignal | undefined): Promise<string> {
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
      // The last stage reads the gzip stream to its end: the member is on disk before the next one starts.
      await pipeline(
        counted(),
        createGzip(),
        async (gz: AsyncIterable<Buffer>) => {
          for await (const c of gz) await fh.write(c);
        },
        signal ? { signal } : {},
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
  return `${base}.gz`;
}

/** The one file of a `raw` artifact, as it is. */
async function spoolRaw(base: string, archive: Readable, file: string): Promise<string> {
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
  return basename(name);
}

/** A zip as GitLab Runner writes it, read back with our reader (central directory, member count and sizes). */
async function spoolZip(base: string, archive: Readable, file: string, skipped: string[], signal: AbortSignal | undefined): Promise<string> {
  let members = 0;
  let plain = 0;
  const entries = async function* (): AsyncGenerator<ZipEntrySource> {
    for await (const e of tarToZipEntries(archive, skipped)) {
      members++;
      const body = e.stream;
      if (!body) {
        yield e;
        continue;
      }
      const counted = async function* (): AsyncGenerator<Uint8Array> {
        for await (const c of body) {
          plain += c.length;
          yield c;
        }
      };
      yield { ...e, stream: counted() };
    }
  };
  const written = await writeZipFile(file, entries(), signal ? { signal } : {});
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
  return `${base}.zip`;
}
