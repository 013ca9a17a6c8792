import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { RunnerError } from '@fleetrunner/common';
import { TarReader, type TarEntry } from '@fleetrunner/executor';
import { listZip, openZipEntry, type ZipEntrySource } from '@fleetrunner/gitlab';
import { tarEnd, tarHeaders, tarPadding } from './tar-writer.js';

type TarEvent = { kind: 'entry'; entry: TarEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/**
 * Reads a tar stream on demand: the next event is parsed only when asked for, so a consumer that reads one member's
 * body at a time (the zip writer) keeps at most one source chunk in memory, and backpressure reaches the instance.
 */
export class TarPuller {
  private readonly events: TarEvent[] = [];
  private readonly source: AsyncIterator<Buffer | string>;
  private readonly reader: TarReader;
  private failure: Error | undefined;
  private eof = false;

  constructor(archive: AsyncIterable<Buffer | string>) {
    this.source = archive[Symbol.asyncIterator]();
    this.reader = new TarReader({
      onEntry: (entry) => this.events.push({ kind: 'entry', entry }),
      onData: (_e, chunk) => this.events.push({ kind: 'data', chunk }),
      onEnd: () => this.events.push({ kind: 'end' }),
    });
    this.reader.on('error', (err: Error) => (this.failure ??= err));
  }

  /** The next event, or undefined at the end of the archive. */
  async next(): Promise<TarEvent | undefined> {
    while (this.events.length === 0) {
      if (this.failure) throw this.failure;
      if (this.eof) return undefined;
      await this.feed();
    }
    return this.events.shift();
  }

  private async feed(): Promise<void> {
    const r = await this.source.next();
    if (r.done) {
      this.eof = true;
      await new Promise<void>((resolve, reject) => this.reader.end((err?: Error | null) => (err ? reject(err) : resolve())));
      return;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    await new Promise<void>((resolve, reject) => this.reader.write(chunk, (err) => (err ? reject(err) : resolve())));
  }

  /** The body of the member just announced, chunk by chunk. */
  async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      const ev = await this.next();
      if (!ev) throw new RunnerError('invalid_argument', 'reading artifacts archive: tar archive is truncated');
      if (ev.kind === 'end') return;
      if (ev.kind === 'data') yield ev.chunk;
    }
  }

  /** Drains the rest of the source (so the producer on the instance is not left blocked). */
  async discard(): Promise<void> {
    while ((await this.next()) !== undefined);
  }
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function cleanName(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/**
 * Turns a tar stream into zip members, lazily: each member's `stream` pulls its body from the tar as the zip writer
 * reads it. Parent directories the tar does not list get their own members first (GitLab Runner's archives list
 * every directory). Hard links and special files are skipped (a zip cannot hold them); their names go to `skipped`.
 */
export async function* tarToZipEntries(archive: AsyncIterable<Buffer | string>, skipped: string[] = []): AsyncGenerator<ZipEntrySource> {
  const tar = new TarPuller(archive);
  const dirs = new Set<string>();
  for (;;) {
    const ev = await tar.next();
    if (!ev) return;
    if (ev.kind !== 'entry') continue;
    const e = ev.entry;
    const name = cleanName(e.path).replace(/\/+$/, '');
    if (name === '' || name === '.') continue;
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = `${parts.slice(0, i).join('/')}/`;
      if (dirs.has(parent)) continue;
      dirs.add(parent);
      yield { name: parent, mode: S_IFDIR | 0o755, mtime: e.mtime };
    }
    if (e.type === 'directory') {
      if (dirs.has(`${name}/`)) continue;
      dirs.add(`${name}/`);
      yield { name: `${name}/`, mode: S_IFDIR | (e.mode & 0o7777), mtime: e.mtime };
    } else if (e.type === 'symlink') {
      yield { name, mode: S_IFLNK | 0o777, mtime: e.mtime, symlinkTarget: e.linkname };
    } else if (e.type === 'file') {
      yield { name, mode: S_IFREG | (e.mode & 0o7777), mtime: e.mtime, size: e.size, stream: tar.body() };
    } else {
      skipped.push(name);
    }
  }
}

/** The members of a tar stream that are regular files, with their bodies (for `gzip` and `raw` artifacts). */
export async function* tarFiles(archive: AsyncIterable<Buffer | string>): AsyncGenerator<{ name: string; mtime: Date; body: AsyncGenerator<Buffer> }> {
  const tar = new TarPuller(archive);
  for (;;) {
    const ev = await tar.next();
    if (!ev) return;
    if (ev.kind === 'entry' && ev.entry.type === 'file') yield { name: cleanName(ev.entry.path), mtime: ev.entry.mtime, body: tar.body() };
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/**
 * A tar stream of the zip archive in `file` (directories, files with their modes and times, symlinks). The file
 * is removed once the stream ends or is destroyed when `removeAfter` is set.
 */
export function zipFileToTar(file: string, options: { removeAfter?: boolean } = {}): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    try {
      for (const e of await listZip(file)) {
        const mode = e.mode & 0o7777 || (e.isDirectory ? 0o755 : 0o644);
        if (e.isDirectory) {
          yield tarHeaders({ name: e.name, type: 'directory', mode, size: 0, mtime: e.mtime });
        } else if (e.isSymlink) {
          const target = (await readAll(await openZipEntry(file, e))).toString('utf8');
          yield tarHeaders({ name: e.name, type: 'symlink', mode: 0o777, size: 0, mtime: e.mtime, linkname: target });
        } else {
          yield tarHeaders({ name: e.name, type: 'file', mode, size: e.size, mtime: e.mtime });
          let n = 0;
          for await (const chunk of await openZipEntry(file, e)) {
            n += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          if (n !== e.size) throw new RunnerError('invalid_argument', `reading artifacts archive: ${e.name}: expected ${e.size} bytes, got ${n}`);
          yield tarPadding(n);
        }
      }
      yield tarEnd();
    } finally {
      if (options.removeAfter) await rm(file, { force: true });
    }
  }
  return Readable.from(gen(), { objectMode: false });
}
