import { readFileSync } from 'node:fs';

/** The `version` of the package.json at `url` (a plugin's own, `new URL('../../package.json', import.meta.url)`); `0.0.0` when it cannot be read. */
export function packageVersion(url: URL): string {
  try {
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as unknown;
    const v = typeof pkg === 'object' && pkg !== null ? (pkg as Record<string, unknown>).version : undefined;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
