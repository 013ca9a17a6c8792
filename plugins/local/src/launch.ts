import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError, writeFileAtomic } from '@fleetrunner/common';
import type { LocalMode } from './config.js';
import type { Ssh2ServerConfig } from './instance/server-config.js';
import { INSTANCE_MARKER, identify, type ProcessIdentity } from './proc.js';

/** Everything needed to bring up one instance process. */
export interface LaunchSpec {
  mode: LocalMode;
  /** The instance directory (created here). */
  dir: string;
  home: string;
  ip: string;
  port: number;
  username: string;
  hostPrivateKey: string;
  hostPublicKey: string;
  /** `authorized_keys` lines. */
  authorizedKeys: readonly string[];
  /** ssh2 mode only. */
  passwordHash?: string;
  /** PATH of commands on the instance. */
  path: string;
  /** sshd mode: absolute path of OpenSSH sshd. */
  sshdPath: string;
}

// The release bundler (tools/release) defines this as the flag that makes its single-file bundle run one of the
// entries it carries (`<bundle> <flag> instance <dir>`). Run from dist/ it is not defined, and the instance server
// is its own file.
declare const FLEETRUNNER_ENTRY_FLAG: string | undefined;

/** The script, and the arguments before the instance directory, that start an ssh2-mode instance server. */
const INSTANCE_ENTRY: readonly string[] =
  typeof FLEETRUNNER_ENTRY_FLAG === 'string'
    ? [fileURLToPath(import.meta.url), FLEETRUNNER_ENTRY_FLAG, 'instance']
    : [fileURLToPath(new URL('./instance/main.js', import.meta.url))];

/**
 * Binds `ip:port` for a moment to learn that it is free (and, for port 0, which ephemeral port the kernel picks).
 * The instance binds it right after; each instance owns its address, so a race is unlikely and only makes that
 * instance fail to start.
 */
export function reservePort(ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: ip, port, exclusive: true }, () => {
      const addr = srv.address();
      const chosen = typeof addr === 'object' && addr ? addr.port : port;
      srv.close(() => resolve(chosen));
    });
  });
}

/** Single-quotes `s` for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The ForceCommand of sshd-mode instances. sshd runs it through the user's login shell; it then replaces itself
 * with /bin/sh in the instance home, so commands see the same HOME, PATH, SHELL and working directory as in ssh2
 * mode, and carry the instance marker that lets decrease find every process of the instance.
 */
export function sshdCommandScript(home: string, path: string, dir: string): string {
  return [
    '#!/bin/sh',
    `${INSTANCE_MARKER}=${shQuote(dir)}; export ${INSTANCE_MARKER}`,
    `HOME=${shQuote(home)}; export HOME`,
    `PATH=${shQuote(path)}; export PATH`,
    'SHELL=/bin/sh; export SHELL',
    'cd "$HOME" || exit 1',
    'if [ -z "${SSH_ORIGINAL_COMMAND+set}" ]; then exec /bin/sh; fi',
    'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
    '',
  ].join('\n');
}

/** Arguments for an sshd-mode instance: no system config, this instance's address, keys and user only. */
export function sshdArgs(spec: LaunchSpec): string[] {
  const opts = [
    `ListenAddress=${spec.ip}:${spec.port}`,
    `HostKey=${join(spec.dir, 'host_key')}`,
    `AuthorizedKeysFile=${join(spec.dir, 'authorized_keys')}`,
    'PidFile=none',
    'StrictModes=no',
    'UsePAM=no',
    'PermitRootLogin=prohibit-password',
    'PubkeyAuthentication=yes',
    'PasswordAuthentication=no',
    'KbdInteractiveAuthentication=no',
    `AllowUsers=${spec.username}`,
    // sshd starts the ForceCommand with the user's login shell; with HOME pointing at the instance home that shell
    // finds no rc files there (bash reads ~/.bashrc for commands run by sshd, which can be slow for root).
    ...(/^[^\s"'\\]+$/.test(spec.home) ? [`SetEnv=HOME=${spec.home}`] : []),
    `ForceCommand=exec ${shQuote(join(spec.dir, 'command.sh'))}`,
    'AcceptEnv=*',
    'AllowTcpForwarding=yes',
    'AllowStreamLocalForwarding=yes',
    'PrintMotd=no',
    'PrintLastLog=no',
    'MaxSessions=64',
    'MaxStartups=64:30:256',
  ];
  return ['-D', '-e', '-f', '/dev/null', ...opts.flatMap((o) => ['-o', o])];
}

async function writeInstanceFiles(spec: LaunchSpec): Promise<void> {
  await mkdir(spec.dir, { recursive: true, mode: 0o700 });
  await mkdir(spec.home, { recursive: true, mode: 0o755 });
  await writeFileAtomic(join(spec.dir, 'host_key'), spec.hostPrivateKey, { mode: 0o600 });
  await writeFileAtomic(join(spec.dir, 'host_key.pub'), spec.hostPublicKey + '\n', { mode: 0o644 });
  await writeFileAtomic(join(spec.dir, 'authorized_keys'), spec.authorizedKeys.map((k) => k + '\n').join(''), { mode: 0o644 });
  if (spec.mode === 'ssh2') {
    const cfg: Ssh2ServerConfig = {
      ip: spec.ip,
      port: spec.port,
      home: spec.home,
      username: spec.username,
      hostKeyPath: join(spec.dir, 'host_key'),
      authorizedKeysPath: join(spec.dir, 'authorized_keys'),
      ...(spec.passwordHash ? { passwordHash: spec.passwordHash } : {}),
      path: spec.path,
    };
    await writeFileAtomic(join(spec.dir, 'server.json'), JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  } else {
    await writeFile(join(spec.dir, 'command.sh'), sshdCommandScript(spec.home, spec.path, spec.dir), { mode: 0o755 });
  }
}

/**
 * Creates the instance's files and starts its process detached (own session and process group, output to
 * `<dir>/log`), so it lives on when the plugin exits. Resolves with the process identity once it has started.
 */
export async function launchInstance(spec: LaunchSpec): Promise<ProcessIdentity> {
  await writeInstanceFiles(spec);
  const [cmd, args] = spec.mode === 'ssh2' ? [process.execPath, [...INSTANCE_ENTRY, spec.dir]] : [spec.sshdPath, sshdArgs(spec)];
  const log = openSync(join(spec.dir, 'log'), 'a', 0o600);
  try {
    const child = spawn(cmd, args, {
      cwd: spec.home,
      detached: true,
      stdio: ['ignore', log, log],
      env: { PATH: spec.path, HOME: spec.home, LANG: process.env.LANG ?? 'C.UTF-8', [INSTANCE_MARKER]: spec.dir },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    // The instance is a detached peer, not a child to supervise; a later exit is seen through /proc.
    child.on('error', () => {});
    return identify(child.pid!);
  } catch (err) {
    throw RunnerError.wrap(`starting ${cmd}`, err, 'unavailable');
  } finally {
    closeSync(log);
  }
}

/** sshd mode needs an absolute sshd path (sshd refuses to re-exec otherwise) and, as root, its privsep dir. */
export async function checkSshd(path: string): Promise<void> {
  if (!isAbsolute(path)) throw new RunnerError('invalid_argument', `plugin_config.sshd_path: expected an absolute path, got "${path}"`);
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new RunnerError(
      'invalid_argument',
      `plugin_config.mode "sshd": ${path} is missing or not executable; install openssh-server or set plugin_config.sshd_path`,
    );
  }
  if (process.getuid?.() === 0) {
    try {
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    } catch (err) {
      throw RunnerError.wrap('creating sshd privilege separation dir /run/sshd', err, 'unavailable');
    }
  }
}
