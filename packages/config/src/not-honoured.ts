/**
 * Keys fleetrunner parses (so a GitLab Runner `config.toml` loads) but does not act on. Every key listed here gets a
 * warning from the schema's TableReader wherever it is written — `runner config validate` and the manager's start and
 * reload show it — and `test/honoured-keys.test.ts` checks that every key the schema reads is either used outside
 * this package or listed here (and that nothing listed is used), so a key can be neither dropped silently nor listed
 * stale.
 *
 * Paths are dotted key paths without array indices (`runners.artifact.upload_timeout`); a table's path stands for
 * every key in it (warned about once, at the table).
 */
export const NOT_HONOURED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  sentry_dsn: 'errors are not reported to Sentry',
  'runners.cache':
    'the cache is kept on the manager (<config dir>/.runner_cache) and travels to the instance over SSH; remote caches (S3, GCS, Azure) and their settings are not used',
  'runners.cache_dir':
    'cache archives are kept on the manager (<config dir>/.runner_cache) and travel to the instance over SSH; there is no cache directory on the instance',
  'runners.artifact.upload_timeout': 'artifacts are uploaded by the manager with its GitLab client, whose requests fail after 10 minutes without progress',
  'runners.artifact.response_header_timeout': 'artifacts are uploaded by the manager with its GitLab client (response header timeout 10 minutes)',
});

/** `runners[2].artifact.upload_timeout` → `runners.artifact.upload_timeout`. */
export function keyPathPattern(path: string): string {
  return path.replace(/\[\d+\]/g, '');
}

/** Why the key at `path` is not honoured, or undefined when it is. */
export function notHonoured(path: string): string | undefined {
  return NOT_HONOURED_KEYS[keyPathPattern(path)];
}
