// Starts the real daemon binary (bin/nesting.js) as a child process and finds QEMU processes through /proc.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Test } from 'tap';

export const PLUGIN_DIR = fileURLToPath(new URL('../../..', import.meta.url));
export const NESTING_BIN = join(PLUGIN_DIR, 'bin', 'nesting.js');
export const BUILD_IMAGE = join(PLUGIN_DIR, 'test', 'image', 'build.sh');

/** The environment for child processes: tap's loader hooks stay out. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  return env;
}

/** A running daemon. */
export interface Daemon {
  child: ChildProcess;
  socket: string;
  /** What it logged so far. */
  log(): string;
  /** Resolves with the exit code/signal once it has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `nesting serve …args -socket <socket>` and resolves once it prints that it serves. */
export async function startDaemon(t: Test, socket: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const child = spawn(process.execPath, [NESTING_BIN, 'serve', ...args, '-socket', socket], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (out.includes('serving')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`nesting serve exited (${code}) before serving:\n${out}`)));
  });
  return { child, socket, log: () => out, exited };
}

/** Runs `nesting <args>` to its end. */
export function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NESTING_BIN, ...args], { env: childEnv(), encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Pids of the QEMU processes whose command line names `needle` (e.g. a daemon's state dir). */
export function qemuPids(needle: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${n}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('qemu-system') || cmd.includes('/qemu-system')) {
      if (cmd.includes(needle)) out.push(Number(n));
    }
  }
  return out;
}

/** True while a process with `pid` exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The QEMU binary the tests need, or a skip reason. */
export const noQemu: string | false = existsSync('/usr/bin/qemu-system-x86_64') ? false : 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86; .ci/run does)';

/** Builds (once; cached) the test guest image and resolves with its directory. */
export function buildImage(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD_IMAGE], { env: childEnv(), encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${BUILD_IMAGE} failed: ${stderr}`));
      else resolve(stdout.trim().split('\n').pop()!);
    });
  });
}
