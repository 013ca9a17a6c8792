import { readTar, type TarEntry as CommonTarEntry } from '@fleetrunner/common/tar';
import { RunnerError } from '@fleetrunner/common';

/** One member of a tar archive, as {@link TarPuller} announces it. */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  size: number;
  mtime: Date;
  linkname: string;
}

/** What {@link TarPuller.next} hands out: a member's header, a chunk of its body, or the end of its body. */
export type TarEvent = { kind: 'entry'; entry: TarEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

/**
 * Event-style reads over `@fleetrunner/common/tar`'s reader: the next event is parsed only when asked for, so a
 * consumer that reads one member's body at a time (the zip writer) keeps at most one source chunk in memory, and
 * backpressure reaches the producer.
 */
export class TarPuller {
  private readonly source: AsyncIterator<Buffer | string>;
  private readonly entries: AsyncGenerator<CommonTarEntry>;
  private body_: AsyncIterator<Buffer> | undefined;
  private closed = false;

  constructor(archive: AsyncIterable<Buffer | string>) {
    this.source = archive[Symbol.asyncIterator]();
    const source = this.source;
    this.entries = readTar({ [Symbol.asyncIterator]: () => source }, { closeSource: true });
  }

  /** The next event, or undefined at the end of the archive. */
  async next(): Promise<TarEvent | undefined> {
    if (this.body_) {
      const r = await this.body_.next();
      if (!r.done) return { kind: 'data', chunk: r.value };
      this.body_ = undefined;
      return { kind: 'end' };
    }
    if (this.closed) return undefined;
    const r = await this.entries.next();
    if (r.done) return undefined;
    const h = r.value.header;
    this.body_ = r.value.body[Symbol.asyncIterator]();
    return { kind: 'entry', entry: { path: h.name, type: h.type, mode: h.mode, size: h.size, mtime: h.mtime, linkname: h.linkname } };
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
    this.closed = true;
    this.body_ = undefined;
    await this.entries.return(undefined);
    await this.source.return?.();
  }
}
