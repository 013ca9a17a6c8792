import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The part of a tap `Test` that {@link tmpDir} needs. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

/**
 * Creates a fresh directory under the OS temp dir and removes it (recursively) when `t` ends. `mode` is applied
 * after creation (mkdtemp makes 0700); pass 0o755 when another user must reach files inside.
 */
export function tmpDir(t: Teardownable, options: { prefix?: string; mode?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `${options.prefix ?? 'fleetrunner-test'}-`));
  if (options.mode !== undefined) chmodSync(dir, options.mode);
  t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  return dir;
}
