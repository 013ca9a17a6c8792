import { randomBytes } from 'node:crypto';
import { Readable, type Duplex } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { RunnerError, abortError, toRunnerError, type Logger } from '@fleetrunner/common';
import type { Connection, ExecOptions, ExecResult } from './types.js';

/** Default grace between TERM and KILL of an aborted command, ms. */
export const DEFAULT_KILL_GRACE_MS = 2_000;

/**
 * An SSH connection shared by every exec on one instance. Each exec first prints a marker line with the remote
 * login shell's pid, which is its process-group id (sshd makes each session a new session), so an abort can kill the
 * whole remote process tree over a second channel.
 */
export class SshConnection implements Connection {
  state: 'open' | 'closed' = 'open';
  private readonly pending = new Set<(err: Error) => void>();

  constructor(
    readonly instanceId: string,
    readonly address: string,
    private readonly client: Client,
    private readonly logger: Logger,
  ) {
    client.on('close', () => this.lost(new RunnerError('unavailable', `connection to instance ${instanceId} (${address}) lost`)));
    client.on('error', (err: Error) => this.lost(new RunnerError('unavailable', `connection to instance ${instanceId} (${address}): ${err.message}`, { cause: err })));
  }

  private lost(err: Error): void {
    if (this.state === 'closed' && this.pending.size === 0) return;
    this.state = 'closed';
    for (const fail of [...this.pending]) fail(err);
    this.pending.clear();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.client.end();
  }

  /**
   * Opens an exec channel and hands it to `watch` inside ssh2's callback: ssh2 emits a channel's events as it parses
   * them, and a fast command's output, exit status and close can arrive in the same read as the open reply, before
   * any promise continuation would run.
   */
  private openExec<T>(command: string, watch: (channel: ClientChannel) => Promise<T>): Promise<T> {
    if (this.state === 'closed') return Promise.reject(new RunnerError('unavailable', `connection to instance ${this.instanceId} is closed`));
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (err, channel) => {
          // A connection that died while the open was in flight is a lost connection, not a refused channel.
          if (err) reject(new RunnerError(this.state === 'closed' ? 'unavailable' : 'channel_open_failed', `opening a session on instance ${this.instanceId}: ${err.message}`, { cause: err }));
          else watch(channel).then(resolve, reject);
        });
      } catch (err) {
        // ssh2 throws "Not connected" when the socket is gone before its 'close' was processed.
        reject(new RunnerError('unavailable', `connection to instance ${this.instanceId} lost: ${toRunnerError(err).message}`, { cause: err }));
      }
    });
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (options.signal?.aborted) throw abortError(options.signal);
    const input = options.stdin;
    // Input that failed before the command started: no channel for it.
    if (input instanceof Readable && input.destroyed) throw toRunnerError(input.errored ?? new Error('the input stream was destroyed before the command started'));
    const mark = `FLEETRUNNER-${randomBytes(6).toString('hex')}:`;
    return this.openExec(`echo "${mark}$$"; ${command}`, (channel) => this.watch(channel, mark, options));
  }

  /** Streams one exec channel's output and settles with its end; see {@link exec}. Attaches every listener at once. */
  private watch(channel: ClientChannel, mark: string, options: ExecOptions): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let pgid: number | undefined;
      let head: Buffer | undefined = Buffer.alloc(0);
      let result: ExecResult = { exitCode: null };
      // Why the exec is being stopped: its signal aborted, or its stdin/stdout stream failed.
      let stopping: { reason: unknown } | undefined;
      let settled = false;
      const input = options.stdin;
      const stdin = input === undefined || typeof input === 'string' || input instanceof Uint8Array ? undefined : input;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.pending.delete(onLost);
        options.signal?.removeEventListener('abort', onAbort);
        options.stdout?.off('drain', onDrain);
        // The exec owns its input: a stream the command did not read to its end is released (its producer stops).
        if (stdin && !stdin.readableEnded) stdin.destroy();
        fn();
      };
      const onLost = (err: Error): void => finish(() => reject(err));
      this.pending.add(onLost);
      let killing = false;
      const killRemote = (): void => {
        // Once: the kill itself closes the channel, whose 'close' would otherwise kill the (maybe reused) pgid again.
        if (killing) return;
        killing = true;
        const reason = stopping!.reason;
        const done = (): void => {
          channel.close();
          finish(() => reject(reason));
        };
        if (pgid === undefined) {
          done();
          return;
        }
        this.killGroup(pgid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS).then(done, (err: unknown) => {
          this.logger.warn('killing remote process group failed', { instance: this.instanceId, pgid, error: String(err) });
          done();
        });
      };
      const stop = (reason: unknown): void => {
        if (settled) return;
        stopping ??= { reason };
        // Without the pid yet the marker is moments away; kill as soon as it arrives (or when the channel ends).
        if (pgid !== undefined) killRemote();
      };
      const onAbort = (): void => stop(abortError(options.signal!));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      // An abort while the channel was opening fired no event.
      if (options.signal?.aborted) onAbort();
      // stdout: the callback sees every chunk; a `stdout` stream gets it with backpressure (the channel pauses, so
      // the SSH window closes and the remote command waits) and fails the exec when it fails.
      let draining = false;
      const onDrain = (): void => {
        draining = false;
        channel.resume();
      };
      const emit = (chunk: Buffer): void => {
        if (settled) return;
        options.onStdout?.(chunk);
        if (options.stdout && !options.stdout.write(chunk) && !draining) {
          draining = true;
          channel.pause();
          options.stdout.once('drain', onDrain);
        }
      };
      options.stdout?.on('error', (err: Error) => stop(toRunnerError(err)));
      // Lines before the marker come from the login shell's rc files: pass them on (byte for byte) and keep looking.
      const scan = (buf: Buffer): void => {
        let rest = buf;
        for (let nl = rest.indexOf(0x0a); nl >= 0; nl = rest.indexOf(0x0a)) {
          const line = rest.subarray(0, nl + 1);
          rest = rest.subarray(nl + 1);
          const at = line.indexOf(mark);
          if (at < 0) {
            emit(line);
            continue;
          }
          pgid = Number(line.subarray(at + mark.length, nl).toString()) || undefined;
          head = undefined;
          if (at > 0) emit(line.subarray(0, at));
          if (rest.length > 0) emit(rest);
          if (stopping) killRemote();
          return;
        }
        head = rest;
      };
      channel.on('data', (chunk: Buffer) => {
        if (head === undefined) emit(chunk);
        else scan(head.length > 0 ? Buffer.concat([head, chunk]) : chunk);
      });
      // ssh2 emits 'error' on a channel only in odd cases; without a listener it would reach the process.
      channel.on('error', (err: Error) => stop(new RunnerError('internal', `channel to instance ${this.instanceId}: ${err.message}`, { cause: err })));
      channel.stderr.on('data', (chunk: Buffer) => options.onStderr?.(chunk));
      channel.stderr.on('error', (err: Error) => stop(new RunnerError('internal', `channel to instance ${this.instanceId}: ${err.message}`, { cause: err })));
      let exited = false;
      channel.on('exit', (code: number | null, signalName?: string) => {
        exited = true;
        // ssh2 reports `SIG`-prefixed names; the contract (and SSH itself) uses the bare name.
        const sig = signalName?.replace(/^SIG/, '');
        result = code === null || code === undefined ? { exitCode: null, ...(sig ? { signal: sig } : {}) } : { exitCode: code };
      });
      channel.on('close', () => {
        if (head !== undefined && head.length > 0) emit(head);
        head = undefined;
        if (stopping) killRemote();
        // A server always reports how a command ended; a channel that closes without saying so went down with the
        // connection (the instance vanished), which is not the command's failure.
        else if (!exited) finish(() => reject(new RunnerError('unavailable', `connection to instance ${this.instanceId} lost: the command ended without an exit status`)));
        else finish(() => resolve(result));
      });
      if (stdin) {
        // The exec owns the errors of the stream it is given: one fails this exec (the remote command is killed and
        // the channel closed) and never reaches the process as an unhandled 'error'.
        stdin.on('error', (err: Error) => stop(toRunnerError(err)));
        stdin.pipe(channel);
      } else if (input === undefined) channel.end();
      else channel.end(input);
    });
  }

  /** TERM the remote group, wait up to `graceMs` for it to go, then KILL; resolves once the group is gone. */
  private async killGroup(pgid: number, graceMs: number): Promise<void> {
    const tenths = Math.max(1, Math.ceil(graceMs / 100));
    const script = [
      // No `--`: dash's builtin kill rejects it; after an explicit signal a negative number is a process group.
      `kill -TERM -${pgid} 2>/dev/null || exit 0`,
      `i=0; while kill -0 -${pgid} 2>/dev/null && [ $i -lt ${tenths} ]; do sleep 0.1; i=$((i+1)); done`,
      `kill -KILL -${pgid} 2>/dev/null; exit 0`,
    ].join('\n');
    await this.openExec(
      `sh -c '${script}'`,
      (ch) =>
        new Promise<void>((resolve) => {
          ch.on('close', () => resolve());
          ch.resume();
          ch.stderr.resume();
          ch.end();
        }),
    );
  }

  async forwardTcp(host: string, port: number, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    if (this.state === 'closed') throw new RunnerError('unavailable', `connection to instance ${this.instanceId} is closed`);
    if (options.signal?.aborted) throw abortError(options.signal);
    return new Promise((resolve, reject) => {
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
          if (err) reject(new RunnerError(this.state === 'closed' ? 'unavailable' : 'channel_open_failed', `forwarding to ${host}:${port} on instance ${this.instanceId}: ${err.message}`, { cause: err }));
          else resolve(stream);
        });
      } catch (err) {
        reject(new RunnerError('unavailable', `connection to instance ${this.instanceId} lost: ${toRunnerError(err).message}`, { cause: err }));
      }
    });
  }

  async forwardUnix(path: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    if (this.state === 'closed') throw new RunnerError('unavailable', `connection to instance ${this.instanceId} is closed`);
    if (options.signal?.aborted) throw abortError(options.signal);
    return new Promise((resolve, reject) => {
      try {
        this.client.openssh_forwardOutStreamLocal(path, (err, stream) => {
          if (err) reject(new RunnerError(this.state === 'closed' ? 'unavailable' : 'channel_open_failed', `opening the unix socket ${path} on instance ${this.instanceId}: ${err.message}`, { cause: err }));
          else resolve(stream);
        });
      } catch (err) {
        reject(new RunnerError('unavailable', `connection to instance ${this.instanceId} lost: ${toRunnerError(err).message}`, { cause: err }));
      }
    });
  }
}
