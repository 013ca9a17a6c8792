import { timestampPrefix } from './log-format.js';

/** Which stream a chunk of the job log came from: the runner's own lines are `{ id: 0, kind: 'O' }`, the job's
 * script output `{ id: 1, kind: 'O' | 'E' }` (GitLab Runner's executor and work stream levels). */
export interface LogStream {
  readonly id: number;
  readonly kind: 'O' | 'E';
}

/** The stream of the runner's own messages (section headers, warnings, "Job succeeded"). */
export const RUNNER_STREAM: LogStream = Object.freeze({ id: 0, kind: 'O' });
/** The job's script output on stdout. */
export const WORK_STDOUT: LogStream = Object.freeze({ id: 1, kind: 'O' });
/** The job's script output on stderr (shell xtrace lands here). */
export const WORK_STDERR: LogStream = Object.freeze({ id: 1, kind: 'E' });

/** A partial line longer than this is written out with a header; what follows is a continuation (`+`). */
const PARTIAL_LINE_BYTES = 8 * 1024;
const NL = 0x0a;
const CR = 0x0d;

/**
 * FF_TIMESTAMPS for one stream: every line of output gets the prefix `<UTC time with microseconds> <stream as two
 * hex digits><O|E><' ' or '+'>` (see {@link timestampPrefix}). The time is taken when a line starts. Complete lines
 * are emitted at once; a write with a carriage return but no newline (progress bars, section markers) is emitted
 * whole, ended with a newline, and the next line is marked as a continuation; a partial line is held until its
 * newline comes or it grows past 8 KiB (then it is emitted and the rest continues it). {@link close} emits what is
 * held, ended with a newline.
 */
export class LineTimestamper {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private continuation = false;

  constructor(
    private readonly stream: LogStream,
    private readonly now: () => number,
    private readonly emit: (bytes: Uint8Array) => void,
  ) {}

  write(p: Uint8Array): void {
    let n = 0;
    // Complete lines.
    for (;;) {
      const idx = p.indexOf(NL, n);
      if (idx === -1) break;
      if (this.heldBytes > 0) this.release();
      else this.header();
      this.emit(p.subarray(n, idx + 1));
      n = idx + 1;
    }
    if (n >= p.length) return;
    const rest = p.subarray(n);
    // A carriage return without a newline: flush the whole write as one entry.
    if (rest.includes(CR)) {
      if (this.heldBytes > 0) this.release();
      else this.header();
      this.emit(rest);
      this.emit(Buffer.from('\n'));
      this.continuation = true;
      return;
    }
    if (this.heldBytes + rest.length > PARTIAL_LINE_BYTES) {
      if (this.heldBytes > 0) this.release();
      else this.header();
      this.emit(rest);
      this.emit(Buffer.from('\n'));
      this.continuation = true;
      return;
    }
    if (this.heldBytes === 0) this.held.push(Buffer.from(this.headerText()));
    this.held.push(Buffer.from(rest));
    this.heldBytes += rest.length;
  }

  /** Emits a held partial line, ended with a newline. Idempotent. */
  close(): void {
    if (this.heldBytes === 0) return;
    this.release();
    this.emit(Buffer.from('\n'));
  }

  private release(): void {
    for (const b of this.held) this.emit(b);
    this.held = [];
    this.heldBytes = 0;
  }

  private headerText(): string {
    const h = timestampPrefix(this.now(), this.stream.id, this.stream.kind, this.continuation);
    this.continuation = false;
    return h;
  }

  private header(): void {
    this.emit(Buffer.from(this.headerText()));
  }
}
