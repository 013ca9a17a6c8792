import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { RunnerError } from '@fleetrunner/common';
import { generateEd25519 } from './ed25519.js';
import { freePort } from './free-port.js';
import { killTree } from './process-tree.js';

/** Options of {@link startSshd}. */
export interface StartSshdOptions {
  /**
   * Login user. Default: the current user (sshd runs as that user). Another user needs root: sshd then runs as
   * root and admits only that user (see `ensureShUser`).
   */
  user?: string;
  /** Listen address; default 127.0.0.1. Any 127/8 address works on Linux. */
  host?: string;
  /** Default /usr/sbin/sshd. */
  sshdPath?: string;
  /** More public key lines to authorize besides the generated client key. */
  authorizedKeys?: readonly string[];
  /** More `-o` options, e.g. `['ForceCommand=…', 'MaxSessions=2']`. */
  options?: readonly string[];
  /** Start timeout; default 10 000 ms. */
  timeoutMs?: number;
}

/** A running sshd for tests. */
export interface SshdHandle {
  host: string;
  port: number;
  /** Login user name. */
  username: string;
  /** Host public key as an `authorized_keys`-style line (`ssh-ed25519 AAAA…`). */
  hostKey: string;
  /** Host public key blob, as ssh2's `hostVerifier` receives it. */
  hostKeyBlob: Buffer;
  /** Private key (OpenSSH format) authorized for `username`. */
  clientKey: string;
  /** Its public key line. */
  clientPublicKey: string;
  /** Temp dir holding keys and files; removed by stop(). */
  dir: string;
  /** Everything sshd wrote to stderr so far (-e). */
  log(): string;
  /** Kills sshd and every session process it started, then removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

function blobOf(line: string): Buffer {
  return Buffer.from(line.split(' ')[1] ?? '', 'base64');
}

/**
 * Starts a real OpenSSH sshd on a loopback port: its own temp dir, generated ed25519 host and client keys,
 * `-f /dev/null` (no system config), no PAM, public-key login only. Resolves once sshd reports it is listening.
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<SshdHandle> {
  const me = userInfo().username;
  const username = options.user ?? me;
  if (username !== me && process.getuid?.() !== 0) throw new RunnerError('unsupported', `startSshd: logging in as ${username} needs root`);
  const host = options.host ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'fleetrunner-sshd-'));
  // sshd reads authorized_keys as the login user: the dir must be reachable by it.
  chmodSync(dir, 0o755);
  const hostKp = generateEd25519('test-host');
  const clientKp = generateEd25519('test-client');
  writeFileSync(join(dir, 'host_key'), hostKp.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'authorized_keys'), [clientKp.publicKey, ...(options.authorizedKeys ?? [])].join('\n') + '\n', { mode: 0o644 });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    try {
      const started = await launch(options, dir, host, port, username);
      const hostKey = hostKp.publicKey;
      return { host, port, username, hostKey, hostKeyBlob: blobOf(hostKey), clientKey: clientKp.privateKey, clientPublicKey: clientKp.publicKey, dir, ...started };
    } catch (err) {
      lastError = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw RunnerError.wrap('starting sshd', lastError, 'unavailable');
}

async function launch(
  options: StartSshdOptions,
  dir: string,
  host: string,
  port: number,
  username: string,
): Promise<{ log(): string; stop(): Promise<void> }> {
  const args = [
    '-D', '-e', '-f', '/dev/null',
    ...[
      `ListenAddress=${host}:${port}`,
      `HostKey=${join(dir, 'host_key')}`,
      `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`,
      'PidFile=none',
      'StrictModes=no',
      'UsePAM=no',
      'PermitRootLogin=prohibit-password',
      'PasswordAuthentication=no',
      'KbdInteractiveAuthentication=no',
      `AllowUsers=${username}`,
      'AcceptEnv=*',
      'PrintMotd=no',
      'PrintLastLog=no',
      'MaxSessions=64',
      'MaxStartups=64:30:256',
      ...(options.options ?? []),
    ].flatMap((o) => ['-o', o]),
  ];
  const child = spawn(options.sshdPath ?? '/usr/sbin/sshd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RunnerError('timeout', `sshd did not listen within ${options.timeoutMs ?? 10_000} ms: ${log}`)), options.timeoutMs ?? 10_000);
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new RunnerError('unavailable', `sshd exited with code ${code}: ${log.trim()}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        killTree(child.pid);
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    await listening;
  } catch (err) {
    if (child.pid !== undefined) killTree(child.pid);
    throw err;
  }
  return { log: () => log, stop };
}
