import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { RunnerError } from '@fleetrunner/common';
import { TarPuller, tarEnd, tarHeaders, tarPadding } from '@fleetrunner/executor';
import { DEFAULT_MAX_EXTRACTED_BYTES, MAX_LINK_TARGET_BYTES, listZip, openZipEntry, tooLarge, type ZipEntrySource } from '@fleetrunner/gitlab';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function cleanName(path: string): string {
  return path.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
}

/**
 * Turns a tar stream into zip members, lazily: each member's `stream` pulls its body from the tar as the zip writer
 * reads it. Parent directories the tar does not list get their own members first (GitLab Runner's archives list
 * every directory). Special files (and hard links, which the instance's `tar --hard-dereference` does not send) are
 * skipped (a zip cannot hold them); their names go to `skipped`.
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

/** Options of {@link zipFileToTar}. */
export interface ZipToTarOptions {
  /** Remove `file` once the stream ends or is destroyed. */
  removeAfter?: boolean;
  /** Cap on the sum of the members' sizes, bytes. Default {@link DEFAULT_MAX_EXTRACTED_BYTES}. */
  maxBytes?: number;
}

/**
 * A tar stream of the zip archive in `file` (directories, files with their modes and times, symlinks). The zip is
 * checked as it goes and the stream fails (naming the member) on anything unsound: no central directory, a corrupt
 * member, a CRC or size mismatch (a member that inflates past its recorded size is stopped at once), an unknown
 * compression method, or members that declare more than `maxBytes` in all (refused before a byte is sent). Entry
 * names and links are checked where the stream is extracted (`extractRemote`).
 */
export function zipFileToTar(file: string, options: ZipToTarOptions = {}): Readable {
  const limit = options.maxBytes ?? DEFAULT_MAX_EXTRACTED_BYTES;
  async function* gen(): AsyncGenerator<Buffer> {
    try {
      const entries = await listZip(file);
      const declared = entries.reduce((n, e) => n + e.size, 0);
      if (declared > limit) throw tooLarge(`reading zip: ${basename(file)}`, declared, limit);
      for (const e of entries) {
        const mode = e.mode & 0o7777 || (e.isDirectory ? 0o755 : 0o644);
        if (e.isDirectory) {
          yield tarHeaders({ name: e.name, type: 'directory', mode, size: 0, mtime: e.mtime });
        } else if (e.isSymlink) {
          if (e.size > MAX_LINK_TARGET_BYTES) throw new RunnerError('invalid_argument', `reading zip: symlink ${JSON.stringify(e.name)} has a target of ${e.size} bytes`);
          const target = (await readAll(await openZipEntry(file, e))).toString('utf8');
          yield tarHeaders({ name: e.name, type: 'symlink', mode: 0o777, size: 0, mtime: e.mtime, linkname: target });
        } else {
          yield tarHeaders({ name: e.name, type: 'file', mode, size: e.size, mtime: e.mtime });
          let n = 0;
          // openZipEntry fails as soon as a member streams more than it declares, and at its end on a short one.
          for await (const chunk of await openZipEntry(file, e)) {
            n += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
          if (n !== e.size) throw new RunnerError('invalid_argument', `reading zip: ${e.name}: expected ${e.size} bytes, got ${n}`);
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
