import { PassThrough } from 'node:stream';
import { RunnerError, toRunnerError } from '@fleetrunner/common';
import { successLine, warningLine, type ArtifactSpec, type CacheSpec, type When } from '@fleetrunner/gitlab';
import { archiveRemote, extractRemote, resolveSelection } from '../files/remote-tree.js';
import type { JobContext } from './types.js';

/** Bold green notice line, as GitLab Runner prints its progress. */
function notice(ctx: JobContext, text: string): void {
  ctx.log.write(successLine(text));
}

function whenMatches(when: When, jobFailed: boolean): boolean {
  return when === 'always' || (when === 'on_failure' ? jobFailed : !jobFailed);
}

/** restore_cache: extracts each pulled cache (key, then fallback keys) into the project dir. Failures are warnings. */
export async function restoreCaches(ctx: JobContext, projectDir: string, caches: readonly CacheSpec[], signal: AbortSignal): Promise<void> {
  for (const cache of caches) {
    if (cache.policy === 'push') continue;
    let restored = false;
    for (const key of [cache.key, ...cache.fallbackKeys].filter(Boolean)) {
      notice(ctx, `Checking cache for ${key}...`);
      try {
        const archive = await ctx.cache.open(key);
        if (!archive) {
          ctx.log.write(warningLine(`Cache file for ${key} does not exist`));
          continue;
        }
        await extractRemote(ctx.connection, projectDir, archive, { signal, what: `cache ${key}`, confineLinks: false });
        notice(ctx, `Successfully extracted cache`);
        restored = true;
        break;
      } catch (err) {
        if (signal.aborted) throw err;
        const message = toRunnerError(err).message;
        ctx.logger?.warn('restoring a cache failed; the job goes on without it', { job: ctx.payload.id, key, error: message });
        ctx.log.write(warningLine(`Failed to extract cache ${key}: ${message}`));
      }
    }
    if (!restored && cache.key) ctx.log.write(warningLine(`Cache ${cache.key} not restored`));
  }
}

/** archive_cache[_on_failure]: archives each pushed cache whose `when` matches. Failures are warnings. */
export async function archiveCaches(ctx: JobContext, projectDir: string, caches: readonly CacheSpec[], jobFailed: boolean, signal: AbortSignal): Promise<void> {
  for (const cache of caches) {
    if (cache.policy === 'pull' || !whenMatches(cache.when, jobFailed) || !cache.key) continue;
    notice(ctx, `Creating cache ${cache.key}...`);
    try {
      const entries = await resolveSelection(ctx.connection, projectDir, { paths: cache.paths, untracked: cache.untracked }, { signal });
      if (entries.length === 0) {
        ctx.log.write(warningLine(`${cache.paths.join(', ') || '(no paths)'}: no matching files. Ensure that the artifact path is relative to the working directory (${projectDir})`));
        continue;
      }
      const pending = await ctx.cache.create(cache.key);
      try {
        await archiveRemote(ctx.connection, projectDir, entries, pending.stream, { signal });
        await pending.commit();
      } catch (err) {
        await pending.abort();
        throw err;
      }
      notice(ctx, `Created cache (${entries.length} entries)`);
    } catch (err) {
      if (signal.aborted) throw err;
      ctx.log.write(warningLine(`Failed to create cache ${cache.key}: ${toRunnerError(err).message}`));
    }
  }
}

/**
 * download_artifacts: extracts each dependency's artifacts into the project dir; a failure fails the stage. A
 * download GitLab refuses fails as the helper's exit would (script_failure); an archive that cannot be extracted —
 * unsound, unsafe, too large — or an extraction that fails is a `runner_system_failure` (the error's
 * `details.failureReason`).
 */
export async function downloadArtifacts(ctx: JobContext, projectDir: string, signal: AbortSignal): Promise<void> {
  for (const dep of ctx.payload.dependencies) {
    if (!dep.artifactsFile) continue;
    notice(ctx, `Downloading artifacts for ${dep.name} (${dep.id})...`);
    const archive = await ctx.artifacts.download(dep, { signal });
    if (!archive) {
      ctx.log.write(warningLine(`${dep.name} (${dep.id}) has no artifacts`));
      continue;
    }
    try {
      await extractRemote(ctx.connection, projectDir, archive, { signal, what: `artifacts of ${dep.name} (${dep.id})` });
    } catch (err) {
      if (signal.aborted) throw err;
      const e = toRunnerError(err);
      ctx.logger?.warn('extracting artifacts failed', { job: ctx.payload.id, dependency: dep.id, error: e.message });
      throw new RunnerError(e.code, e.message, { cause: err, details: { ...e.details, failureReason: 'runner_system_failure' } });
    }
    notice(ctx, `Downloaded artifacts for ${dep.name} (${dep.id})`);
  }
}

/** upload_artifacts_on_*: archives each artifacts entry whose `when` matches and hands it to the backend. */
export async function uploadArtifacts(ctx: JobContext, projectDir: string, specs: readonly ArtifactSpec[], jobFailed: boolean, signal: AbortSignal): Promise<void> {
  for (const spec of specs) {
    if (!whenMatches(spec.when, jobFailed)) continue;
    const label = spec.name || 'artifacts';
    notice(ctx, `Uploading artifacts...`);
    const entries = await resolveSelection(ctx.connection, projectDir, { paths: spec.paths, exclude: spec.exclude, untracked: spec.untracked }, { signal });
    if (entries.length === 0) {
      ctx.log.write(warningLine(`${spec.paths.join(', ') || '(no paths)'}: no matching files. Ensure that the artifact path is relative to the working directory (${projectDir})`));
      ctx.log.write(`${'\x1b[31;1m'}ERROR: No files to upload${'\x1b[0;m'}\n`);
      continue;
    }
    const pipe = new PassThrough();
    const uploading = ctx.artifacts.upload(spec, pipe, { entries, signal });
    // A backend that gives up must not leave the producer writing into a pipe nobody reads.
    uploading.catch((err: unknown) => pipe.destroy(err instanceof Error ? err : new Error(String(err))));
    const producing = archiveRemote(ctx.connection, projectDir, entries, pipe, { signal });
    // Both sides must settle; a failure on either fails the upload.
    const [up, prod] = await Promise.allSettled([uploading, producing]);
    const failed = prod.status === 'rejected' ? prod : up.status === 'rejected' ? up : undefined;
    if (failed) {
      if (!signal.aborted) ctx.logger?.warn('uploading artifacts failed', { job: ctx.payload.id, artifacts: label, error: toRunnerError(failed.reason).message });
      throw failed.reason;
    }
    notice(ctx, `Uploading artifacts as "${spec.type || 'archive'}" ${label}: ${entries.length} entries`);
  }
}
