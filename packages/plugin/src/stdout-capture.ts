/** Chunk size of StdioData messages, as go-plugin sends them (bytes). */
export const STDIO_CHUNK_BYTES = 1024;

/**
 * Takes over `process.stdout.write` once the handshake is out, so stray writes cannot corrupt the host's view of
 * stdout. Bytes go to the subscriber (the host's `GRPCStdio/StreamStdio` stream) in 1 KiB chunks; until one
 * subscribes they wait in a bounded buffer that drops the oldest bytes beyond `limitBytes` (default 64 KiB).
 */
export class StdoutCapture {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private subscriber: ((chunk: Buffer) => void) | undefined;
  private original: typeof process.stdout.write | undefined;

  constructor(private readonly limitBytes = 64 * 1024) {}

  /** Replaces `process.stdout.write`; idempotent. */
  install(): void {
    if (this.original) return;
    this.original = process.stdout.write;
    const capture = (chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
      const encoding = typeof encodingOrCb === 'string' ? (encodingOrCb as BufferEncoding) : 'utf8';
      const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
      this.write(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk as Uint8Array));
      if (typeof done === 'function') queueMicrotask(() => (done as (err?: Error | null) => void)(null));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
  }

  /** Puts the original `process.stdout.write` back. */
  uninstall(): void {
    if (this.original) process.stdout.write = this.original;
    this.original = undefined;
  }

  /** Routes captured bytes to `sink` (buffered bytes first); returns an unsubscribe function. */
  subscribe(sink: (chunk: Buffer) => void): () => void {
    this.subscriber = sink;
    const pending = this.buffered;
    this.buffered = [];
    this.bufferedBytes = 0;
    for (const b of pending) this.deliver(b);
    return () => {
      if (this.subscriber === sink) this.subscriber = undefined;
    };
  }

  /** Bytes waiting for a subscriber. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private write(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.subscriber) {
      this.deliver(bytes);
      return;
    }
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    while (this.bufferedBytes > this.limitBytes) {
      const head = this.buffered[0]!;
      const excess = this.bufferedBytes - this.limitBytes;
      if (head.length <= excess) {
        this.buffered.shift();
        this.bufferedBytes -= head.length;
      } else {
        this.buffered[0] = head.subarray(excess);
        this.bufferedBytes -= excess;
      }
    }
  }

  private deliver(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i += STDIO_CHUNK_BYTES) this.subscriber?.(bytes.subarray(i, i + STDIO_CHUNK_BYTES));
  }
}
