import { installerError } from './errors.js';

/**
 * Pull-style reads over an async iterable of chunks: exact-length reads for headers, bounded reads for bodies
 * (which hand out slices of the underlying chunks without copying).
 */
export class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Buffer | undefined;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least one), or undefined at the end of the source. */
  async chunk(max: number): Promise<Buffer | undefined> {
    if (!this.pending || this.pending.length === 0) {
      this.pending = undefined;
      while (!this.ended) {
        const r = await this.it.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        if (r.value.length > 0) {
          this.pending = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
          break;
        }
      }
      if (!this.pending) return undefined;
    }
    if (this.pending.length <= max) {
      const out = this.pending;
      this.pending = undefined;
      return out;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(max);
    return out;
  }

  /** Exactly `n` bytes; `undefined` when the source ends before the first byte; throws `truncated` mid-way. */
  async exact(n: number, what: string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.chunk(n - got);
      if (!c) {
        if (got === 0) return undefined;
        throw installerError('truncated', `${what}: unexpected end of data after ${got} of ${n} bytes`);
      }
      parts.push(c);
      got += c.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** Discards `n` bytes; throws `truncated` when the source ends first. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const c = await this.chunk(Math.min(left, 1 << 20));
      if (!c) throw installerError('truncated', `${what}: unexpected end of data, ${left} bytes missing`);
      left -= c.length;
    }
  }

  /** Reads and discards everything left; returns the byte count. */
  async drain(): Promise<number> {
    let n = 0;
    for (let c = await this.chunk(1 << 20); c; c = await this.chunk(1 << 20)) n += c.length;
    return n;
  }

  /** Stops the underlying iterator early (releases a stream that will not be read to its end). */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }
}
