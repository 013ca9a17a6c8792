// For the stand-ins' tests of their binaries: the binary as a child process, read the way a user's script reads it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running stand-in binary. */
export interface StandinProcess {
  /** The URL of its `endpoint=` line. */
  endpoint: string;
  /** Its `export NAME='VALUE'` lines. */
  env: Record<string, string>;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM; resolves with the exit code. */
  terminate(): Promise<number | null>;
}

/**
 * Starts stand-in binary `bin` with `args` (killed when `t` ends) and reads its `endpoint=` line and the `exports`
 * lines after it. Rejects, with its stderr, when it exits first.
 */
export async function spawnStandin(t: { teardown(fn: () => unknown): void }, bin: string, args: readonly string[], exports = 0): Promise<StandinProcess> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = await new Promise<string[]>((resolve, reject) => {
    const seen: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      seen.push(line);
      if (seen.length === exports + 1) resolve(seen);
    });
    void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  const env: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const m = /^export ([A-Z_]+)='(.*)'$/.exec(l);
    if (m) env[m[1]!] = m[2]!;
  }
  return {
    endpoint: /^endpoint=(\S+)$/.exec(lines[0]!)?.[1] ?? `(no endpoint line: ${lines[0]})`,
    env,
    stderr: () => stderr,
    terminate: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs stand-in binary `bin` with a command line it must refuse; its exit code and stderr. */
export async function refusedCommandLine(bin: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

/** True when nothing answers HTTP at `url` any more (the connection is refused). */
export function refuses(url: string): Promise<boolean> {
  return fetch(url).then(
    () => false,
    () => true,
  );
}
