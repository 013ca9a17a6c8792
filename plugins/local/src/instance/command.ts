import { spawn, type ChildProcess } from 'node:child_process';
import type { ServerChannel } from 'ssh2';

/** Signal names a client may send with the `signal` channel request (RFC 4254 §6.10, without "SIG"). */
const SIGNALS = new Set(['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2']);

/** A command running for one session channel. */
export interface RunningCommand {
  readonly pid: number | undefined;
  /** Sends `SIG<name>` to the command's process group; false when the name is not allowed or it has ended. */
  signal(name: string): boolean;
  /** Kills the command's whole process group (channel closed early, connection lost, server stopping). */
  kill(): void;
}

/** Resolves once everything written to `w` has been handed to the SSH layer. */
function drained(w: NodeJS.WritableStream & { writableNeedDrain?: boolean }): Promise<void> {
  return w.writableNeedDrain ? new Promise((r) => w.once('drain', () => r())) : Promise.resolve();
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `/bin/sh [args]` in its own process group (detached) with stdin, stdout and stderr wired to `stream`. When it
 * ends, sends exit-status (or exit-signal) after its output, then closes the channel. When the channel closes first,
 * the whole process group is killed, so nothing the command started outlives the session.
 */
export function runCommand(stream: ServerChannel, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): RunningCommand {
  const child = spawn('/bin/sh', [...args], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let ended = false;
  child.stdin?.on('error', () => {
    // the command exited without reading all of stdin
  });
  stream.pipe(child.stdin!);
  child.stdout!.pipe(stream, { end: false });
  child.stderr!.pipe(stream.stderr, { end: false });

  const finish = async (status: number | string): Promise<void> => {
    if (ended) return;
    ended = true;
    await Promise.all([drained(stream), drained(stream.stderr)]);
    if (typeof status === 'number') stream.exit(status);
    else stream.exit(status, false, '');
    stream.end();
  };
  child.once('error', (err) => {
    stream.stderr.write(`fleeting-plugin-local: starting /bin/sh: ${err.message}\n`);
    void finish(127);
  });
  child.once('close', (code, signal) => {
    void finish(signal ? signal.replace(/^SIG/, '') : (code ?? 255));
  });
  stream.once('close', () => {
    if (!ended) killGroup(child, 'SIGKILL');
    ended = true;
  });

  return {
    pid: child.pid,
    signal(name) {
      if (ended || !SIGNALS.has(name)) return false;
      return killGroup(child, `SIG${name}` as NodeJS.Signals);
    },
    kill() {
      if (!ended) killGroup(child, 'SIGKILL');
    },
  };
}
