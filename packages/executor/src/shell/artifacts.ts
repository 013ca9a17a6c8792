import type { HelperCommand } from './stage-input.js';

/** A payload `dependencies[]` entry. */
export interface ArtifactDependency {
  readonly id: number;
  readonly token: string;
  readonly name: string;
  readonly artifactsFile?: { readonly filename: string; readonly size?: number };
}

/** A payload `artifacts[]` entry. */
export interface ArtifactSpec {
  readonly name?: string;
  readonly untracked?: boolean;
  readonly paths?: readonly string[];
  readonly exclude?: readonly string[];
  /** Default `on_success`. */
  readonly when?: 'on_success' | 'on_failure' | 'always';
  readonly artifactType?: string;
  readonly artifactFormat?: string;
  readonly expireIn?: string;
}

/**
 * download_artifacts commands (upstream `downloadAllArtifacts`): one `artifacts-downloader` per dependency that
 * has an artifacts file, with the dependency's own token. The token is an argument, never printed.
 */
export function artifactDownloadCommands(
  dependencies: readonly ArtifactDependency[],
  options: { readonly runnerUrl: string; readonly runnerCommand?: string },
): HelperCommand[] {
  const runner = options.runnerCommand ?? 'gitlab-runner';
  return dependencies
    .filter((d) => (d.artifactsFile?.filename ?? '') !== '')
    .map((d) => ({
      notice: `Downloading artifacts for ${d.name} (${d.id})...`,
      argv: [runner, 'artifacts-downloader', '--url', options.runnerUrl, '--token', d.token, '--id', String(d.id)],
    }));
}

/** Options of {@link artifactUploadCommands}. */
export interface ArtifactUploadOptions {
  readonly runnerUrl: string;
  readonly jobToken: string;
  readonly jobId: number;
  /** true: upload_artifacts_on_success (`on_success`/`always`); false: on_failure (`on_failure`/`always`). */
  readonly onSuccess: boolean;
  /** `[runners.artifact] upload_timeout` as a Go duration; default `1h0m0s`. */
  readonly uploadTimeout?: string;
  /** `response_header_timeout`; default `10m0s`. */
  readonly responseHeaderTimeout?: string;
  readonly runnerCommand?: string;
}

/**
 * upload_artifacts_on_success / _on_failure commands (upstream `writeUploadArtifact`): one `artifacts-uploader`
 * per artifact whose `when` matches and that selects something (paths, excludes or untracked).
 */
export function artifactUploadCommands(artifacts: readonly ArtifactSpec[], options: ArtifactUploadOptions): HelperCommand[] {
  const out: HelperCommand[] = [];
  for (const a of artifacts) {
    const when = a.when ?? 'on_success';
    const matches = options.onSuccess ? when === 'on_success' || when === 'always' : when === 'on_failure' || when === 'always';
    if (!matches) continue;
    const select = [
      ...(a.paths ?? []).flatMap((p) => ['--path', p]),
      ...(a.exclude ?? []).flatMap((p) => ['--exclude', p]),
      ...(a.untracked ? ['--untracked'] : []),
    ];
    if (select.length === 0) continue;
    const argv = [
      options.runnerCommand ?? 'gitlab-runner',
      'artifacts-uploader',
      '--url',
      options.runnerUrl,
      '--token',
      options.jobToken,
      '--id',
      String(options.jobId),
      '--timeout',
      options.uploadTimeout ?? '1h0m0s',
      '--response-header-timeout',
      options.responseHeaderTimeout ?? '10m0s',
      ...select,
    ];
    if (a.name) argv.push('--name', a.name);
    if (a.expireIn) argv.push('--expire-in', a.expireIn);
    if (a.artifactFormat) argv.push('--artifact-format', a.artifactFormat);
    if (a.artifactType) argv.push('--artifact-type', a.artifactType);
    out.push({ notice: 'Uploading artifacts...', argv });
  }
  return out;
}
