import { Readable } from 'node:stream';
import { RunnerError } from '@fleetrunner/common';
import { readTar, writeTar, type TarMember } from '@fleetrunner/common/tar';
import { checkLinkTarget, safeEntryName } from '@fleetrunner/gitlab';

/** Options of {@link safeTar}. */
export interface SafeTarOptions {
  /**
   * Refuse symlinks whose target is absolute or leaves the extraction directory. Default true (artifacts); caches
   * and source trees keep their links as they were (a virtualenv's `python -> /usr/bin/python3`), as upstream does.
   */
  confineLinks?: boolean;
}

function refuse(message: string): RunnerError {
  return new RunnerError('invalid_argument', message);
}

/** `a/b/c` → `a`, `a/b`. */
function parentsOf(name: string): string[] {
  const parts = name.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

type Deferred = { name: string; type: 'symlink' | 'hardlink'; linkname: string; mtime: Date };

/**
 * Re-writes a tar stream into one that is safe to hand to GNU `tar -x` in the extraction directory (an instance's
 * build directory):
 * - member names that are absolute or have a `..` component are refused (the error names the member);
 * - every member is preceded by directory entries for all its parents. GNU tar replaces a symlink that stands where
 *   a directory member goes by a real directory (it does not follow it: `--keep-directory-symlink` is not given), so
 *   a link planted earlier — by another dependency's archive, the cache, the checkout or the script — is never
 *   followed into: what the archive holds lands under the extraction directory or not at all;
 * - symlinks and hard links come after every file and directory, so nothing in this archive is written through a
 *   link of its own; a member below one of this archive's links, and a link that would replace one of its
 *   directories, are refused;
 * - a hard link must point to a regular file this archive holds (else `tar` would link whatever that path is);
 * - with `confineLinks`, symlinks pointing to an absolute path or out of the extraction directory are refused;
 * - devices, FIFOs and other special members are refused.
 * Members keep their mode and mtime; owners are root. Bodies pass through chunk by chunk with backpressure.
 */
export function safeTar(source: AsyncIterable<Buffer | string>, options: SafeTarOptions = {}): Readable {
  const confine = options.confineLinks ?? true;
  async function* filtered(): AsyncGenerator<TarMember> {
    const dirs = new Set<string>();
    const files = new Set<string>();
    const linkNames = new Set<string>();
    const links: Deferred[] = [];
    function* parents(name: string, mtime: Date): Generator<TarMember> {
      for (const p of parentsOf(name)) {
        if (linkNames.has(p)) throw refuse(`entry ${JSON.stringify(name)} lies below the symlink ${JSON.stringify(p)} of the same archive`);
        if (dirs.has(p)) continue;
        if (files.has(p)) throw refuse(`entry ${JSON.stringify(name)} lies below the file ${JSON.stringify(p)} of the same archive`);
        dirs.add(p);
        yield { name: p, type: 'directory', mode: 0o755, mtime };
      }
    }
    for await (const { header: e, body } of readTar(source, { closeSource: true })) {
      const name = safeEntryName(e.name);
      if (name === '') continue;
      if (linkNames.has(name) && e.type !== 'symlink' && e.type !== 'hardlink') throw refuse(`entry ${JSON.stringify(name)} replaces a link of the same archive`);
      if (e.type === 'directory') {
        yield* parents(name, e.mtime);
        if (files.has(name)) throw refuse(`directory ${JSON.stringify(name)} replaces a file of the same archive`);
        dirs.add(name);
        yield { name, type: 'directory', mode: e.mode, mtime: e.mtime };
      } else if (e.type === 'file') {
        yield* parents(name, e.mtime);
        if (dirs.has(name)) throw refuse(`file ${JSON.stringify(name)} replaces a directory of the same archive`);
        files.add(name);
        yield { name, type: 'file', mode: e.mode, size: e.size, mtime: e.mtime, body };
      } else if (e.type === 'symlink') {
        if (confine) checkLinkTarget(name, e.linkname);
        else if (e.linkname === '' || e.linkname.includes('\0')) throw refuse(`symlink ${JSON.stringify(name)} has an invalid target`);
        linkNames.add(name);
        links.push({ name, type: 'symlink', linkname: e.linkname, mtime: e.mtime });
      } else if (e.type === 'hardlink') {
        const target = safeEntryName(e.linkname);
        if (!files.has(target) || linkNames.has(target)) throw refuse(`hard link ${JSON.stringify(name)} points to ${JSON.stringify(e.linkname)}, which is not a file of the same archive`);
        linkNames.add(name);
        links.push({ name, type: 'hardlink', linkname: target, mtime: e.mtime });
      } else {
        throw refuse(`entry ${JSON.stringify(name)} is not a file, directory or link`);
      }
    }
    for (const l of links) {
      if (dirs.has(l.name)) throw refuse(`link ${JSON.stringify(l.name)} replaces a directory of the same archive`);
      yield* parents(l.name, l.mtime);
      yield { name: l.name, type: l.type, mode: 0o777, mtime: l.mtime, linkname: l.linkname };
    }
  }
  return Readable.from(writeTar(filtered()), { objectMode: false });
}
