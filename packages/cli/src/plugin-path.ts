import { accessSync, constants, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from '@fleetrunner/common';

/** Path of the embedded `local` plugin's executable. */
export function localPluginPath(): string {
  const entry = fileURLToPath(import.meta.resolve('@fleetrunner/plugin-local'));
  // entry = <pkg>/dist/src/index.js
  return join(dirname(dirname(dirname(entry))), 'bin', 'plugin.js');
}

/**
 * Resolves a plugin reference to an executable path: `local` is the embedded plugin; a path (relative or absolute)
 * must exist; a bare name is looked up on PATH.
 */
export function resolvePluginPath(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  if (ref === 'local') return localPluginPath();
  if (ref.includes('/') || isAbsolute(ref)) {
    const p = resolve(ref);
    try {
      if (!statSync(p).isFile()) throw new Error('not a file');
    } catch {
      throw new RunnerError('not_found', `plugin ${ref}: no such file ${p}`);
    }
    return p;
  }
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const p = join(dir, ref);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  throw new RunnerError('not_found', `plugin ${ref}: not found (not "local", not a file path, not an executable on PATH)`);
}
