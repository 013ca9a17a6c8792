import { crc32 } from 'node:zlib';
import { ANSI } from './log-format.js';
import { StreamMasker, DEFAULT_TOKEN_MASK_PREFIXES } from './masker.js';
import { LineTimestamper, RUNNER_STREAM, type LogStream } from './log-timestamper.js';

/** Default job log cap: 4 MiB (`output_limit` = 4096 KB). */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 4 * 1024 * 1024;

/** What to mask in the job log. */
export interface MaskOptions {
  /** Values of masked variables; each occurrence becomes `[MASKED]`. */
  phrases?: readonly string[];
  /** Token prefixes from `features.token_mask_prefixes`; the defaults are always added. */
  tokenPrefixes?: readonly string[];
}

/** The notice appended once when the log reaches its limit (GitLab Runner's wording and colours). */
export function limitNotice(limitBytes: number): string {
  return (
    `\n${ANSI.boldYellow}Job's log exceeded limit of ${limitBytes} bytes.\n` +
    `Job execution will continue but no more output will be collected.${ANSI.reset}\n`
  );
}

/** Where a cut at `capacity` must move so that it does not split a UTF-8 character. */
function utf8SafeCut(p: Uint8Array, capacity: number): number {
  let cut = capacity;
  for (let steps = 0; steps < 4 && cut > 0 && cut < p.length && (p[cut]! & 0xc0) === 0x80; steps++) cut--;
  return cut;
}

/** Options of a {@link TraceBuffer} besides its limit and masks. */
export interface TraceBufferOptions {
  /**
   * FF_TIMESTAMPS: prefix every line with its time and stream (see {@link LineTimestamper}); `now` gives ms since the
   * epoch (the injected Clock). Each stream is then masked on its own before it is split into lines, as GitLab
   * Runner does. Default: no prefixes, one masker for all streams.
   */
  timestamps?: { now: () => number };
}

/** One stream's masker and, with timestamps, its line splitter. */
interface StreamSink {
  masker: StreamMasker;
  lines?: LineTimestamper;
}

/**
 * The job log as it will be stored by GitLab: masked, timestamped per line when asked (FF_TIMESTAMPS), capped at
 * the output limit (with the notice), with a running CRC-32 (IEEE). Kept in memory; at most `limit` plus the
 * notice. Writes are synchronous and never fail: once the limit is reached further output is dropped silently, as
 * GitLab Runner does.
 */
export class TraceBuffer {
  private data: Buffer;
  private length = 0;
  private crc = 0;
  private mask: MaskOptions;
  private readonly sinks = new Map<string, StreamSink>();
  private readonly timestamps: TraceBufferOptions['timestamps'];
  private limited = false;
  private finished = false;

  constructor(
    readonly limitBytes: number = DEFAULT_OUTPUT_LIMIT_BYTES,
    mask: MaskOptions = {},
    options: TraceBufferOptions = {},
  ) {
    if (!(limitBytes > 0)) throw new RangeError(`output limit must be > 0 bytes, got ${limitBytes}`);
    // Small to start (doubling as the log grows): a manager holds one per running job.
    this.data = Buffer.alloc(Math.min(4 * 1024, limitBytes + 256));
    this.mask = mask;
    this.timestamps = options.timestamps;
  }

  /** True when lines get FF_TIMESTAMPS prefixes. */
  get timestamped(): boolean {
    return this.timestamps !== undefined;
  }

  /** Replaces the mask set; bytes held back by the previous maskers are emitted first (masked by them). */
  setMasked(mask: MaskOptions): void {
    for (const sink of this.sinks.values()) {
      this.pass(sink, sink.masker.flush());
      sink.masker = makeMasker(mask);
    }
    this.mask = mask;
  }

  /** Appends job output (masked, timestamped when on, then capped). `stream` defaults to the runner's own. */
  write(chunk: string | Uint8Array, stream: LogStream = RUNNER_STREAM): void {
    if (this.finished) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (bytes.length === 0) return;
    const sink = this.sinkOf(stream);
    this.pass(sink, sink.masker.write(bytes));
  }

  /** Emits what the maskers and line splitters still hold; later writes are ignored. Idempotent. */
  finish(): void {
    if (this.finished) return;
    for (const sink of this.sinks.values()) {
      this.pass(sink, sink.masker.flush());
      sink.lines?.close();
    }
    this.finished = true;
  }

  private sinkOf(stream: LogStream): StreamSink {
    const key = this.timestamps ? `${stream.id}${stream.kind}` : '';
    let sink = this.sinks.get(key);
    if (!sink) {
      sink = { masker: makeMasker(this.mask) };
      if (this.timestamps) sink.lines = new LineTimestamper(stream, this.timestamps.now, (b) => this.append(b));
      this.sinks.set(key, sink);
    }
    return sink;
  }

  private pass(sink: StreamSink, masked: Uint8Array): void {
    if (masked.length === 0) return;
    if (sink.lines) sink.lines.write(masked);
    else this.append(masked);
  }

  /** Bytes kept so far (what GitLab calls `bytesize`). */
  get size(): number {
    return this.length;
  }

  /** True once the limit notice was written. */
  get exceeded(): boolean {
    return this.limited;
  }

  /** `crc32:<8 lowercase hex>` of the bytes kept. */
  checksum(): string {
    return `crc32:${(this.crc >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** A copy of up to `max` bytes starting at `offset`. */
  bytes(offset: number, max: number = Number.MAX_SAFE_INTEGER): Buffer {
    const start = Math.max(0, Math.min(offset, this.length));
    const end = Math.min(this.length, start + max);
    return Buffer.from(this.data.subarray(start, end));
  }

  private append(p: Uint8Array): void {
    if (p.length === 0 || this.limited) return;
    const capacity = this.limitBytes - this.length;
    if (p.length >= capacity) {
      this.store(p.subarray(0, utf8SafeCut(p, capacity)));
      this.store(Buffer.from(limitNotice(this.limitBytes)));
      this.limited = true;
      return;
    }
    this.store(p);
  }

  private store(p: Uint8Array): void {
    if (p.length === 0) return;
    if (this.length + p.length > this.data.length) {
      let size = this.data.length * 2;
      while (size < this.length + p.length) size *= 2;
      const next = Buffer.alloc(size);
      this.data.copy(next, 0, 0, this.length);
      this.data = next;
    }
    this.data.set(p, this.length);
    this.length += p.length;
    this.crc = crc32(p, this.crc);
  }
}

function makeMasker(mask: MaskOptions): StreamMasker {
  return new StreamMasker(mask.phrases ?? [], [...DEFAULT_TOKEN_MASK_PREFIXES, ...(mask.tokenPrefixes ?? [])]);
}
