import { RunnerError, type ErrorCode } from '@fleetrunner/common';

/**
 * What went wrong, finer than the shared `ErrorCode`: kept in `RunnerError.details.kind` so that callers and tests
 * can branch on it without reading message text.
 */
export type InstallerErrorKind =
  | 'bad_reference'
  | 'bad_constraint'
  | 'unknown_plugin'
  | 'no_matching_version'
  | 'platform_not_found'
  | 'bad_manifest'
  | 'digest_mismatch'
  | 'truncated'
  | 'too_large'
  | 'unsafe_archive'
  | 'plugin_missing'
  | 'unauthorized'
  | 'registry_error'
  | 'network'
  | 'tls'
  | 'not_installed'
  | 'bad_artifact'
  | 'bad_bundle'
  | 'io';

const CODES: Record<InstallerErrorKind, ErrorCode> = {
  bad_reference: 'invalid_argument',
  bad_constraint: 'invalid_argument',
  unknown_plugin: 'not_found',
  no_matching_version: 'not_found',
  platform_not_found: 'not_found',
  bad_manifest: 'invalid_argument',
  digest_mismatch: 'invalid_argument',
  truncated: 'unavailable',
  too_large: 'invalid_argument',
  unsafe_archive: 'invalid_argument',
  plugin_missing: 'not_found',
  unauthorized: 'auth_failed',
  registry_error: 'unavailable',
  network: 'unavailable',
  tls: 'unavailable',
  not_installed: 'not_found',
  bad_artifact: 'invalid_argument',
  bad_bundle: 'invalid_argument',
  io: 'internal',
};

/** A RunnerError whose `details.kind` names the installer-specific reason. */
export function installerError(
  kind: InstallerErrorKind,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): RunnerError {
  return new RunnerError(CODES[kind], message, { cause: options.cause, details: { ...options.details, kind } });
}

/** The installer kind carried by `err`, if any (survives `RunnerError.wrap`). */
export function errorKind(err: unknown): InstallerErrorKind | undefined {
  if (!(err instanceof RunnerError)) return undefined;
  const k = err.details['kind'];
  return typeof k === 'string' && k in CODES ? (k as InstallerErrorKind) : undefined;
}
