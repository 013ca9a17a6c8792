import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RunnerError } from '@fleetrunner/common';
import { pause } from './wait-for.js';

const run = promisify(execFile);

/** A local user account. */
export interface ShUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

async function lookup(name: string): Promise<ShUser | undefined> {
  try {
    const { stdout } = await run('getent', ['passwd', name]);
    const f = stdout.trim().split(':');
    if (f.length < 7) return undefined;
    return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
  } catch {
    return undefined;
  }
}

async function passwordField(name: string): Promise<string> {
  const { stdout } = await run('getent', ['shadow', name]);
  return stdout.split(':')[1] ?? '';
}

async function once(name: string): Promise<ShUser> {
  let user = await lookup(name);
  if (!user) {
    try {
      await run('useradd', ['--create-home', '--shell', '/bin/sh', '--user-group', name]);
    } catch (err) {
      // Another test process may have created it at the same moment: look again before failing.
      if (!(await lookup(name))) throw err;
    }
    user = (await lookup(name))!;
  }
  if (user.shell !== '/bin/sh') {
    await run('usermod', ['--shell', '/bin/sh', name]);
    user = { ...user, shell: '/bin/sh' };
  }
  // A "!" (locked) password field makes sshd with UsePAM=no refuse even key logins; "*" only disables passwords.
  if ((await passwordField(name)).startsWith('!')) await run('usermod', ['-p', '*', name]);
  return user;
}

/**
 * Makes sure a user `name` exists with /bin/sh as login shell, a home directory, and a password field that lets
 * sshd (UsePAM=no) accept key logins. Idempotent and safe against parallel test processes (retries while
 * /etc/passwd is locked). Needs root: rejects with `unsupported` otherwise. Timing tests use it because root's
 * login shell may source a heavy rc file on every SSH command.
 */
export async function ensureShUser(name: string): Promise<ShUser> {
  if (process.getuid?.() !== 0) throw new RunnerError('unsupported', `ensureShUser(${name}): needs root`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return await once(name);
    } catch (err) {
      lastError = err;
      await pause(100 * (attempt + 1), undefined);
    }
  }
  throw RunnerError.wrap(`creating user ${name}`, lastError);
}
