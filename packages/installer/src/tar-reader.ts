import { readTar as readCommonTar, safeTarPath, tarErrorKind, type TarEntry, type TarHeader } from '@fleetrunner/common/tar';
import { installerError } from './errors.js';

export type { TarEntry, TarHeader };

/** A tar-format error as the installer reports it: `truncated`, or `unsafe_archive` for anything else. */
function asInstallerError(err: unknown): unknown {
  const kind = tarErrorKind(err);
  if (kind === undefined) return err;
  return installerError(kind === 'truncated' ? 'truncated' : 'unsafe_archive', (err as Error).message, { cause: err });
}

/**
 * `@fleetrunner/common/tar`'s reader with the installer's error kinds. The source is read to its end, so the
 * layer's digest covers every byte.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry, void, undefined> {
  const entries = readCommonTar(source);
  try {
    for (;;) {
      let r: IteratorResult<TarEntry>;
      try {
        r = await entries.next();
      } catch (err) {
        throw asInstallerError(err);
      }
      if (r.done) return;
      const { header, body } = r.value;
      yield {
        header,
        body: (async function* (): AsyncGenerator<Buffer> {
          try {
            yield* body;
          } catch (err) {
            throw asInstallerError(err);
          }
        })(),
      };
    }
  } finally {
    await entries.return(undefined);
  }
}

/** The entry name as a normalized relative POSIX path; `unsafe_archive` for absolute paths and `..`. */
export function safeEntryPath(name: string): string {
  try {
    return safeTarPath(name);
  } catch (err) {
    throw asInstallerError(err);
  }
}
