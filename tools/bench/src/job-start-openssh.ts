// The OpenSSH baselines of the job-start benchmark: a fresh `ssh host true`, and an `ssh` exec over a
// ControlMaster connection, both as real `ssh` processes against a real sshd for a /bin/sh user.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureShUser, startSshd, waitFor, type SshdHandle } from '@fleetrunner/testing';

/** Login user of the baselines: /bin/sh, so no shell profile is timed. */
export const BENCH_USER = 'fr-bench';

/** One timed sample in milliseconds. */
export type Sampler = () => Promise<number>;

/** Runs `ssh args…` and resolves with the ms until the first stdout byte (`firstByte`) or until it exits. */
function timeSsh(args: string[], until: 'firstByte' | 'exit'): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let first: number | undefined;
    let err = '';
    child.stdout.on('data', () => (first ??= ms()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const total = ms();
      if (code !== 0) reject(new Error(`ssh ${args.at(-1)} exited ${code}: ${err.trim()}`));
      else if (until === 'exit') resolve(total);
      else if (first === undefined) reject(new Error(`ssh ${args.at(-1)}: no output`));
      else resolve(first);
    });
  });
}

/** The baselines and how to stop them. */
export interface OpenSshBaselines {
  /** (a) `ssh host true`, a new connection each time, until ssh exits. */
  fresh: Sampler;
  /** (b) `ssh -S <master> host 'echo x'` over one ControlMaster connection, until the first byte of output. */
  muxed: Sampler;
  sshd: SshdHandle;
  stop(): Promise<void>;
}

/** Starts sshd on `host` for {@link BENCH_USER} and a ControlMaster connection to it; `dir` holds keys and socket. */
export async function startOpenSshBaselines(host: string, dir: string): Promise<OpenSshBaselines> {
  const user = await ensureShUser(BENCH_USER);
  const sshd = await startSshd({ user: user.name, host });
  const key = join(dir, 'id_ed25519');
  const knownHosts = join(dir, 'known_hosts');
  const control = join(dir, 'master.sock');
  writeFileSync(key, sshd.clientKey, { mode: 0o600 });
  writeFileSync(knownHosts, `[${host}]:${sshd.port} ${sshd.hostKey}\n`);
  const common = [
    '-F', '/dev/null', '-i', key, '-p', String(sshd.port),
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'LogLevel=ERROR', '-l', user.name,
  ];
  const master: ChildProcess = spawn('ssh', ['-M', '-S', control, '-N', ...common, host], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    master.kill('SIGTERM');
    await sshd.stop();
  };
  try {
    await waitFor(() => timeSsh(['-S', control, '-O', 'check', ...common, host], 'exit').then(() => true), { what: 'the ControlMaster connection', timeoutMs: 10_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    fresh: () => timeSsh([...common, host, 'true'], 'exit'),
    muxed: () => timeSsh(['-S', control, '-o', 'ControlMaster=no', ...common, host, 'echo x'], 'firstByte'),
    sshd,
    stop,
  };
}
