import { readFileSync } from 'node:fs';

/**
 * What an ssh2-mode instance process needs, written by the plugin to `<instance dir>/server.json` before it starts
 * the process.
 */
export interface Ssh2ServerConfig {
  ip: string;
  port: number;
  /** Commands run with this HOME and working directory. */
  home: string;
  /** The only user name accepted. */
  username: string;
  /** Private host key file (OpenSSH format). */
  hostKeyPath: string;
  /** `authorized_keys`-style file: one `<type> <base64> [comment]` line per accepted key. */
  authorizedKeysPath: string;
  /** {@link hashPassword} value; absent = no password login. */
  passwordHash?: string;
  /** PATH given to commands. */
  path: string;
}

/** Reads and checks a server.json written by the plugin. */
export function readServerConfig(path: string): Ssh2ServerConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (typeof raw !== 'object' || raw === null) throw new Error(`${path}: expected an object`);
  const r = raw as Record<string, unknown>;
  const need = (k: string): string => {
    const v = r[k];
    if (typeof v !== 'string') throw new Error(`${path}: ${k} must be a string`);
    return v;
  };
  if (typeof r.port !== 'number') throw new Error(`${path}: port must be a number`);
  return {
    ip: need('ip'),
    port: r.port,
    home: need('home'),
    username: need('username'),
    hostKeyPath: need('hostKeyPath'),
    authorizedKeysPath: need('authorizedKeysPath'),
    ...(typeof r.passwordHash === 'string' ? { passwordHash: r.passwordHash } : {}),
    path: need('path'),
  };
}
