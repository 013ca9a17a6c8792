import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * The user's configuration directory as Go's os.UserConfigDir finds it: macOS `~/Library/Application Support`,
 * elsewhere `$XDG_CONFIG_HOME` when absolute, else `~/.config`.
 */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = env['HOME'] || homedir()): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support');
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg && isAbsolute(xdg)) return xdg;
  return join(home, '.config');
}

/**
 * The daemon's default socket: `nesting.sock` in the user's configuration directory, which on a macOS host is the
 * `unix:///Users/<user>/Library/Application Support/nesting.sock` that runner configurations name as `nesting_host`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return join(userConfigDir(env, platform), 'nesting.sock');
}

/**
 * The socket path of a gRPC target as `nesting_host` carries it: `unix:///abs/path`, `unix:/abs/path`,
 * `unix:relative` or a bare path. Anything else (e.g. `dns:` or host:port) is refused with the value in the message.
 */
export function socketPathOfTarget(target: string): string {
  let path = target;
  if (target.startsWith('unix://')) path = target.slice('unix://'.length);
  else if (target.startsWith('unix:')) path = target.slice('unix:'.length);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('/')) {
    throw new Error(`nesting target ${JSON.stringify(target)}: expected unix:///path/to/socket or a socket path`);
  }
  if (path === '') throw new Error(`nesting target ${JSON.stringify(target)}: expected unix:///path/to/socket or a socket path`);
  return path;
}
