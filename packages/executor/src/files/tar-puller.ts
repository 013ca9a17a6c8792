import { RunnerError } from '@fleetrunner/common';
import { TarReader, type TarEntry } from './tar-reader.js';

/** What {@link TarPuller.next} hands out: a member's header, a chunk of its body, or the end of its body. */
export type TarEvent = { kind: 'entry'; entry: TarEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/**
 * Reads a tar stream on demand: the next event is parsed only when asked for, so a consumer that reads one member's
 * body at a time (the zip writer, the extraction filter) keeps at most one source chunk in memory, and backpressure
 * reaches the producer.
 */
export class TarPuller {
  private readonly events: TarEvent[] = [];
  private readonly source: AsyncIterator<Buffer | string>;
  private readonly reader: TarReader;
  private failure: Error | undefined;
  private eof = false;

  constructor(archive: AsyncIterable<Buffer | string>) {
    this.source = archive[Symbol.asyncIterator]();
    this.reader = new TarReader({
      onEntry: (entry) => this.events.push({ kind: 'entry', entry }),
      onData: (_e, chunk) => this.events.push({ kind: 'data', chunk }),
      onEnd: () => this.events.push({ kind: 'end' }),
    });
    this.reader.on('error', (err: Error) => (this.failure ??= err));
  }

  /** The next event, or undefined at the end of the archive. */
  async next(): Promise<TarEvent | undefined> {
    while (this.events.length === 0) {
      if (this.failure) throw this.failure;
      if (this.eof) return undefined;
      await this.feed();
    }
    return this.events.shift();
  }

  private async feed(): Promise<void> {
    const r = await this.source.next();
    if (r.done) {
      this.eof = true;
      await new Promise<void>((resolve, reject) => this.reader.end((err?: Error | null) => (err ? reject(err) : resolve())));
      return;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    await new Promise<void>((resolve, reject) => this.reader.write(chunk, (err) => (err ? reject(err) : resolve())));
  }

  /** The body of the member just announced, chunk by chunk. */
  async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      const ev = await this.next();
      if (!ev) throw new RunnerError('invalid_argument', 'reading tar archive: the archive is truncated');
      if (ev.kind === 'end') return;
      if (ev.kind === 'data') yield ev.chunk;
    }
  }

  /** Drains the rest of the source (so the producer on the instance is not left blocked). */
  async discard(): Promise<void> {
    while ((await this.next()) !== undefined);
  }

  /** Stops reading: the source is closed (a stream is destroyed). Idempotent. */
  async close(): Promise<void> {
    this.eof = true;
    await this.source.return?.();
  }
}
