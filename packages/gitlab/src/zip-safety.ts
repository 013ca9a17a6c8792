// The safety rules every archive extraction follows (zip on the manager, tar streams sent to an instance's `tar`):
// entry names stay inside the destination, link targets too, and an archive expands to a bounded size.
import { posix } from 'node:path';
import { RunnerError } from '@fleetrunner/common';

/**
 * Default cap on what one archive may expand to: the sum of its members' sizes, 1 GiB. A zip that declares more is
 * refused before anything is written; a member that streams more than it declares is stopped at once. GitLab's
 * own default for an artifacts upload is 100 MB, so this leaves room for a 10× compression ratio, while a 2 MB
 * "zip bomb" of 2 GiB of zeros is refused.
 */
export const DEFAULT_MAX_EXTRACTED_BYTES = 1024 ** 3;

/** Longest symlink target accepted, bytes (Linux PATH_MAX): a link's target is read into memory. */
export const MAX_LINK_TARGET_BYTES = 4096;

function unsafe(message: string): RunnerError {
  return new RunnerError('invalid_argument', message);
}

/**
 * The name of an archive member made relative and clean (leading `./` and trailing `/` removed; `''` for the root
 * itself), or an error naming the entry when it is absolute, has a `..` component, a backslash or a NUL.
 */
export function safeEntryName(name: string): string {
  const clean = name.replace(/^(\.\/+)+/, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.') return '';
  if (clean.startsWith('/') || clean.includes('\\') || clean.includes('\0') || clean.split('/').includes('..')) {
    throw unsafe(`unsafe entry name ${JSON.stringify(name)} (absolute or with a ".." component)`);
  }
  return clean
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/**
 * Refuses symlink `name` (a clean name from {@link safeEntryName}) pointing at `target` when the target is absolute
 * or, resolved from the link's directory, leaves the extraction root. Lexical: it holds because extractions never
 * write through a symlink that is already there (see the callers).
 */
export function checkLinkTarget(name: string, target: string): void {
  if (target === '' || Buffer.byteLength(target) > MAX_LINK_TARGET_BYTES || target.includes('\0')) {
    throw unsafe(`symlink ${JSON.stringify(name)} has an invalid target`);
  }
  if (target.startsWith('/')) throw unsafe(`symlink ${JSON.stringify(name)} points to the absolute path ${JSON.stringify(target)}`);
  const resolved = posix.normalize(posix.join(posix.dirname(name), target));
  if (resolved === '..' || resolved.startsWith('../')) throw unsafe(`symlink ${JSON.stringify(name)} points outside the destination (${JSON.stringify(target)})`);
}

/** The error for an archive whose members declare more than `limit` bytes in all. */
export function tooLarge(what: string, bytes: number, limit: number): RunnerError {
  return new RunnerError('invalid_argument', `${what} expands to ${bytes} bytes, over the limit of ${limit} bytes`, { details: { bytes, limit } });
}
