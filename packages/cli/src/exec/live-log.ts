import { StringDecoder } from 'node:string_decoder';

/** Separates a job's name from its line while several jobs run at once. */
export const PREFIX_SEPARATOR = ' │ ';

interface Stream {
  decoder: StringDecoder;
  partial: string;
}

/**
 * `runner exec`'s live job logs: each job's lines as they are written. While one job runs its lines are printed as
 * they are, under a `━━━ name ━━━` header; while several run each line is prefixed with its job's name. GitLab's
 * section markers stay in the line (the prefix goes after a marker's `\r\e[0K`, where a terminal shows it).
 */
export class LiveLog {
  private readonly streams = new Map<string, Stream>();
  private lastHeader: string | undefined;

  constructor(private readonly out: (line: string) => void) {}

  write(job: string, chunk: Buffer): void {
    let s = this.streams.get(job);
    if (!s) this.streams.set(job, (s = { decoder: new StringDecoder('utf8'), partial: '' }));
    const lines = (s.partial + s.decoder.write(chunk)).split('\n');
    s.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(job, line);
  }

  /** The job ended: its last partial line goes out and `footer` closes it. */
  end(job: string, footer: string): void {
    const s = this.streams.get(job);
    if (s) {
      const rest = s.partial + s.decoder.end();
      if (rest !== '') this.emit(job, rest);
      this.streams.delete(job);
    }
    this.out(footer);
    this.lastHeader = undefined;
  }

  private emit(job: string, line: string): void {
    if (this.streams.size > 1) {
      this.lastHeader = undefined;
      this.out(prefixed(job, line));
      return;
    }
    if (this.lastHeader !== job) {
      this.out(`━━━ ${job} ${'━'.repeat(Math.max(3, 60 - job.length))}`);
      this.lastHeader = job;
    }
    this.out(line);
  }
}

function prefixed(job: string, line: string): string {
  // eslint-disable-next-line no-control-regex -- GitLab's section markers end in \r ESC[0K
  const marker = /^(?:.*\r\x1b\[0K)?/.exec(line)?.[0] ?? '';
  return `${marker}${job}${PREFIX_SEPARATOR}${line.slice(marker.length)}`;
}
