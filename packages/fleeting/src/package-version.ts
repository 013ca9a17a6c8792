/**
 * The `version` of a package.json read by `read` (a plugin's own:
 * `() => readFileSync(new URL('../../package.json', import.meta.url), 'utf8')`, written out in the plugin so that the
 * release bundle inlines that manifest); `0.0.0` when it cannot be read or has none.
 */
export function packageVersion(read: () => string): string {
  try {
    const pkg = JSON.parse(read()) as unknown;
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>).version : undefined;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
