import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from './constants.js';

/** A fresh socket path `plugin<random digits>` in `$PLUGIN_UNIX_SOCKET_DIR` or the OS temp dir. */
export function freshSocketPath(env: NodeJS.ProcessEnv): string {
  const dir = env[ENV.unixSocketDir] || tmpdir();
  for (;;) {
    const path = join(dir, `plugin${randomInt(1_000_000_000, 10_000_000_000)}`);
    if (!existsSync(path)) return path;
  }
}

/** Removes a socket file; a missing file is fine. */
export function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Applies `PLUGIN_UNIX_SOCKET_GROUP`: mode 0660, and the group (a name or a numeric gid) when this process may
 * set it. Returns a warning when the group could not be applied.
 */
export function applySocketGroup(path: string, env: NodeJS.ProcessEnv): string | undefined {
  const group = env[ENV.unixSocketGroup];
  if (!group) return undefined;
  chmodSync(path, 0o660);
  const gid = /^\d+$/.test(group) ? Number(group) : lookupGroup(group);
  if (gid === undefined) return `socket group ${JSON.stringify(group)} not found; left the socket's group unchanged`;
  try {
    chownSync(path, -1, gid);
    return undefined;
  } catch (err) {
    return `setting socket group ${JSON.stringify(group)}: ${(err as Error).message}`;
  }
}

function lookupGroup(name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Host side: a killed plugin cannot remove its socket, so the host does, if the path still holds a socket. */
export function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already removed by the plugin.
  }
}
