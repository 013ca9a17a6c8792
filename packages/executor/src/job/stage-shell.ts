import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { RunnerError } from '@fleetrunner/common';
import type { ExecResult } from '@fleetrunner/connector';
import { WORK_STDERR, WORK_STDOUT } from '@fleetrunner/gitlab';
import { shellCommand } from '../shell/index.js';
import { DEFAULT_STAGE_KILL_GRACE_MS, stageStop, type StageRun, type StageStops } from './stage-exec.js';
import type { JobContext } from './types.js';

/** What a {@link StageShell} uses of the job's context. */
export type ShellContext = Pick<JobContext, 'connection' | 'log' | 'clock' | 'settings' | 'failSignal' | 'lostSignal' | 'abortSignal' | 'cancelSignal'>;

/**
 * One remote shell for the script stages of a job: a single `sh -s` / `bash -s` exec whose stdin stays open. Each
 * stage's script is written to it as `( <script> ) </dev/null`, followed by a marker on stdout carrying the
 * subshell's exit status and one on stderr (both with a per-job nonce, taken out of the log), so a stage costs a
 * round trip and a fork instead of an SSH channel, a login shell and a shell start. The manager still decides each
 * stage on its own: the next script is written only after both markers of the previous one arrived, so all of a
 * stage's output is in the log before it ends. A stop (timeout, cancel, abort, lost instance) kills the remote
 * process group as {@link runStageScript} does and ends the shell; the next stage starts a new one. A stage that
 * ends the shell itself (`kill $$`, `exec`) ends with the shell's exit status, as its own exec would.
 *
 * A stage may bring the next one along (`then`): written in the same round trip, run by the shell only when the
 * first exits 0, and claimed by the next {@link run} of that same script. Its output is held back until it is
 * claimed, so the log and the stage events keep their order; a stage brought along but never claimed is killed
 * with the shell.
 */
export class StageShell {
  private session: Session | undefined;

  constructor(private readonly ctx: ShellContext) {}

  /**
   * Runs one stage script in the job's shell (started on first use); the contract of {@link runStageScript}.
   * `then`: the script of the stage that follows when this one succeeds, sent along (see the class).
   */
  async run(script: string, stops: StageStops, then?: string): Promise<StageRun> {
    const ctx = this.ctx;
    const { signal, which, dispose } = stageStop(ctx, stops);
    try {
      if (signal.aborted) {
        // A stage already sent along must not run on its own.
        if (this.session?.queued !== undefined) this.session.kill(signal.reason);
        return { ended: which(), exitCode: null };
      }
      if (this.session?.ended) this.session = undefined;
      if (this.session?.queued !== undefined && this.session.queued !== script) {
        this.session.kill(new RunnerError('internal', 'another stage was sent along'));
        await this.session.close();
        this.session = undefined;
      }
      const session = (this.session ??= new Session(ctx));
      const onStop = (): void => session.kill(signal.reason);
      signal.addEventListener('abort', onStop, { once: true });
      try {
        const end = await session.stage(script, then);
        if (end.kind === 'marker') return { ended: 'exit', exitCode: end.exitCode };
        this.session = undefined;
        if (signal.aborted) return { ended: which(), exitCode: null };
        if (end.kind === 'error') throw end.error;
        return { ended: 'exit', exitCode: end.result.exitCode, ...(end.result.signal ? { signal: end.result.signal } : {}) };
      } finally {
        signal.removeEventListener('abort', onStop);
      }
    } finally {
      dispose();
    }
  }

  /** Closes the shell's stdin and waits for it to end; the errors of a shell already gone are not the job's. */
  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s?.queued !== undefined) s.kill(new RunnerError('aborted', 'the job ended before a stage sent along'));
    await s?.close();
  }
}

type StageEnd = { kind: 'marker'; exitCode: number } | { kind: 'exit'; result: ExecResult } | { kind: 'error'; error: unknown };

/** Takes `\x1eFR<nonce>:<text>\x1f` markers out of one output stream, cut anywhere by chunk boundaries. */
class MarkerFilter {
  private pending: Buffer = Buffer.alloc(0);
  /** After a marker, output waits for {@link release} (it belongs to a stage not started yet). */
  private held = false;

  constructor(
    private readonly prefix: Buffer,
    private readonly emit: (chunk: Buffer) => void,
    private readonly onMarker: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    for (;;) {
      if (this.held) {
        if (buf.length > 0) this.pending = Buffer.from(buf);
        return;
      }
      const at = buf.indexOf(this.prefix);
      if (at < 0) {
        const keep = partialPrefix(buf, this.prefix);
        if (buf.length > keep) this.emit(buf.subarray(0, buf.length - keep));
        if (keep > 0) this.pending = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      if (at > 0) this.emit(buf.subarray(0, at));
      const close = buf.indexOf(0x1f, at + this.prefix.length);
      if (close < 0) {
        this.pending = Buffer.from(buf.subarray(at));
        return;
      }
      const text = buf.subarray(at + this.prefix.length, close).toString();
      buf = buf.subarray(close + 1);
      this.held = true;
      this.onMarker(text);
    }
  }

  /** Lets output through again (the next stage started), with what was held. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    const buf = this.pending;
    this.pending = Buffer.alloc(0);
    if (buf.length > 0) this.push(buf);
  }

  /** What is held back (a marker that never completed is output after all). */
  flush(): void {
    this.held = false;
    if (this.pending.length > 0) this.emit(this.pending);
    this.pending = Buffer.alloc(0);
  }
}

/** Length of the longest tail of `buf` that is a proper beginning of `prefix`. */
function partialPrefix(buf: Buffer, prefix: Buffer): number {
  for (let n = Math.min(prefix.length - 1, buf.length); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(prefix.subarray(0, n))) return n;
  }
  return 0;
}

class Session {
  private readonly nonce = randomBytes(8).toString('hex');
  private readonly input = new PassThrough();
  private readonly abort = new AbortController();
  private readonly done: Promise<StageEnd>;
  private readonly out: MarkerFilter;
  private readonly err: MarkerFilter;
  private waiter: ((end: StageEnd) => void) | undefined;
  private exitCode: number | undefined;
  private errMarker = false;
  ended = false;
  /** The script of a stage sent along and not claimed yet. */
  queued: string | undefined;
  /** The running stage brought one along (which does not run when it fails). */
  private bringsAlong = false;

  constructor(ctx: ShellContext) {
    const prefix = Buffer.from(`\x1eFR${this.nonce}:`);
    this.out = new MarkerFilter(prefix, (c) => ctx.log.write(c, WORK_STDOUT), (text) => {
      const code = Number(text);
      this.exitCode = Number.isInteger(code) && text !== '' ? code : 1;
      this.settle();
    });
    this.err = new MarkerFilter(prefix, (c) => ctx.log.write(c, WORK_STDERR), () => {
      this.errMarker = true;
      this.settle();
    });
    this.done = ctx.connection
      .exec(shellCommand(ctx.settings.shell ?? 'bash').command, {
        stdin: this.input,
        onStdout: (c) => this.out.push(c),
        onStderr: (c) => this.err.push(c),
        signal: this.abort.signal,
        killGraceMs: ctx.settings.killGraceMs ?? DEFAULT_STAGE_KILL_GRACE_MS,
      })
      .then(
        (result): StageEnd => ({ kind: 'exit', result }),
        (error: unknown): StageEnd => ({ kind: 'error', error }),
      )
      .then((end) => {
        this.ended = true;
        this.out.flush();
        this.err.flush();
        const w = this.waiter;
        this.waiter = undefined;
        w?.(end);
        return end;
      });
  }

  /**
   * Writes one stage's script (unless it is the one sent along, which is claimed) and `then` after it; resolves
   * with the stage's end: both markers, or the end of the whole shell.
   */
  stage(script: string, then?: string): Promise<StageEnd> {
    if (this.ended) return this.done;
    this.exitCode = undefined;
    this.errMarker = false;
    return new Promise<StageEnd>((resolve) => {
      this.waiter = resolve;
      const mark = `\\036FR${this.nonce}:`;
      const ends = `__fr_rc=$?\nprintf '${mark}%s\\037' "$__fr_rc"; printf '${mark}\\037' >&2\n`;
      let text = '';
      if (this.queued === script) this.queued = undefined;
      else text = `(\n${script}\n) </dev/null\n${ends}`;
      this.bringsAlong = then !== undefined;
      if (then !== undefined) {
        text += `if [ "$__fr_rc" -eq 0 ]; then\n(\n${then}\n) </dev/null\n${ends}fi\n`;
        this.queued = then;
      }
      if (text !== '') this.input.write(text);
      this.out.release();
      this.err.release();
    });
  }

  private settle(): void {
    if (this.exitCode === undefined || !this.errMarker) return;
    if (this.bringsAlong && this.exitCode !== 0) this.queued = undefined;
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ kind: 'marker', exitCode: this.exitCode });
  }

  kill(reason: unknown): void {
    this.abort.abort(reason);
  }

  async close(): Promise<void> {
    if (!this.ended) this.input.end();
    await this.done;
  }
}
