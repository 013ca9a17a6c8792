// Artifact formats ⇄ tar: the executor moves files to and from an instance as tar streams; GitLab stores zip, gzip
// or raw. Tar is read and written by @fleetrunner/common/tar.
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { readTar, writeTar, type TarMember } from '@fleetrunner/common/tar';
import { S_IFDIR, S_IFLNK, S_IFREG } from './zip-format.js';
import { checkDeclaredSize, openZip, readLinkTarget, type ZipArchive } from './zip-reader.js';
import type { ZipEntrySource } from './zip-writer.js';

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
  const dirs = new Set<string>();
  for await (const { header: h, body } of readTar(archive)) {
    const name = cleanName(h.name).replace(/\/+$/, '');
    if (name === '' || name === '.') continue;
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = `${parts.slice(0, i).join('/')}/`;
      if (dirs.has(parent)) continue;
      dirs.add(parent);
      yield { name: parent, mode: S_IFDIR | 0o755, mtime: h.mtime };
    }
    if (h.type === 'directory') {
      if (dirs.has(`${name}/`)) continue;
      dirs.add(`${name}/`);
      yield { name: `${name}/`, mode: S_IFDIR | (h.mode & 0o7777), mtime: h.mtime };
    } else if (h.type === 'symlink') {
      yield { name, mode: S_IFLNK | 0o777, mtime: h.mtime, symlinkTarget: h.linkname };
    } else if (h.type === 'file') {
      yield { name, mode: S_IFREG | (h.mode & 0o7777), mtime: h.mtime, size: h.size, stream: body };
    } else {
      skipped.push(name);
    }
  }
}

/** The members of a tar stream that are regular files, with their bodies (for `gzip` and `raw` artifacts). */
export async function* tarFiles(archive: AsyncIterable<Buffer | string>): AsyncGenerator<{ name: string; mtime: Date; body: AsyncIterable<Buffer> }> {
  for await (const { header: h, body } of readTar(archive)) {
    if (h.type === 'file') yield { name: cleanName(h.name), mtime: h.mtime, body };
  }
}

/** Options of {@link zipFileToTar}. */
export interface ZipToTarOptions {
  /** Remove `file` once the stream ends or is destroyed. */
  removeAfter?: boolean;
  /** Cap on the sum of the members' sizes, bytes. Default DEFAULT_MAX_EXTRACTED_BYTES (1 GiB). */
  maxBytes?: number;
}

/** The members of `archive` as tar members, each body opened when the tar writer comes to it (kept in `reading`). */
async function* tarMembersOf(archive: ZipArchive, reading: { body?: Readable }): AsyncGenerator<TarMember> {
  for (const e of archive.entries) {
    const mode = e.mode & 0o7777 || (e.isDirectory ? 0o755 : 0o644);
    if (e.isDirectory) yield { name: e.name, type: 'directory', mode, mtime: e.mtime };
    else if (e.isSymlink) yield { name: e.name, type: 'symlink', mtime: e.mtime, linkname: await readLinkTarget(archive, e) };
    // The member's stream fails as soon as it holds more than it declares, and at its end on a short one.
    else {
      reading.body = await archive.openEntry(e);
      yield { name: e.name, type: 'file', mode, size: e.size, mtime: e.mtime, body: reading.body as AsyncIterable<Buffer> };
    }
  }
}

/**
 * A tar stream of the zip archive in `file` (directories, files with their modes and times, symlinks). The zip is
 * checked as it goes and the stream fails (naming the member) on anything unsound: no central directory, a corrupt
 * member, a CRC or size mismatch (a member that inflates past its recorded size is stopped at once), an unknown
 * compression method, or members that declare more than `maxBytes` in all (refused before a byte is sent). Entry
 * names and links are checked where the stream is extracted (the executor's `safeTar`).
 */
export function zipFileToTar(file: string, options: ZipToTarOptions = {}): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    let archive: ZipArchive | undefined;
    const reading: { body?: Readable } = {};
    try {
      archive = await openZip(file);
      checkDeclaredSize(archive, basename(file), options.maxBytes);
      yield* writeTar(tarMembersOf(archive, reading));
    } finally {
      // Stopped early: end the member being read at once (its file descriptor, and the tar writer waiting on it).
      reading.body?.destroy();
      archive?.close();
      if (options.removeAfter) await rm(file, { force: true });
    }
  }
  return Readable.from(gen(), { objectMode: false });
}
