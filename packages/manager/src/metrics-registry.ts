/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string>>;

/** Prometheus metric types this registry writes. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One sample line: `name{labels} value`; `suffix` is `_bucket`, `_sum`, `_count` or ''. */
export interface Sample {
  labels: Labels;
  value: number;
  suffix?: string;
}

/** A metric family as written to the exposition: `# HELP`, `# TYPE`, then its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** Produces families at scrape time (for numbers that live elsewhere, such as taskscaler stats). */
export type Collector = () => MetricFamily[];

/** Default histogram bounds in seconds (Prometheus client defaults). */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { labels: Labels; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  protected entry(labels: Labels, init: () => S): { labels: Labels; state: S } {
    const key = seriesKey(labels);
    let e = this.series.get(key);
    if (!e) {
      e = { labels: { ...labels }, state: init() };
      this.series.set(key, e);
    }
    return e;
  }

  /** Drops one series (e.g. a runner removed from the config). */
  remove(labels: Labels): void {
    this.series.delete(seriesKey(labels));
  }

  abstract family(): MetricFamily;
}

/** A monotonically increasing count. */
export class Counter extends Metric<{ v: number }> {
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => ({ v: 0 })).state.v += by;
  }

  /** Creates the series at 0 so it shows before the first event. */
  touch(labels: Labels = {}): void {
    this.entry(labels, () => ({ v: 0 }));
  }

  get(labels: Labels = {}): number {
    return this.series.get(seriesKey(labels))?.state.v ?? 0;
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: 'counter', samples: [...this.series.values()].map((e) => ({ labels: e.labels, value: e.state.v })) };
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<{ v: number }> {
  set(labels: Labels, v: number): void {
    this.entry(labels, () => ({ v: 0 })).state.v = v;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => ({ v: 0 })).state.v += by;
  }

  dec(labels: Labels = {}, by = 1): void {
    this.inc(labels, -by);
  }

  get(labels: Labels = {}): number {
    return this.series.get(seriesKey(labels))?.state.v ?? 0;
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: 'gauge', samples: [...this.series.values()].map((e) => ({ labels: e.labels, value: e.state.v })) };
  }
}

/** Observations counted into fixed buckets (upper bounds in seconds, cumulative on output). */
export class Histogram extends Metric<{ counts: number[]; sum: number; n: number }> {
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, buckets: readonly number[] = DEFAULT_HISTOGRAM_BUCKETS) {
    super(name, help);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels, value: number): void {
    const s = this.entry(labels, () => ({ counts: new Array<number>(this.bounds.length).fill(0), sum: 0, n: 0 })).state;
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.n++;
  }

  family(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, state } of this.series.values()) {
      samples.push(...histogramSamples(labels, this.bounds, state.counts, state.sum, state.n));
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/**
 * Samples of one histogram series. `counts` are per bucket (not cumulative) unless `cumulative` is set; the
 * `+Inf` bucket is the total count.
 */
export function histogramSamples(labels: Labels, bounds: readonly number[], counts: readonly number[], sum: number, n: number, cumulative = false): Sample[] {
  const out: Sample[] = [];
  let acc = 0;
  bounds.forEach((b, i) => {
    if (!Number.isFinite(b)) return;
    acc = cumulative ? (counts[i] ?? acc) : acc + (counts[i] ?? 0);
    out.push({ labels: { ...labels, le: formatNumber(b) }, value: acc, suffix: '_bucket' });
  });
  out.push({ labels: { ...labels, le: '+Inf' }, value: n, suffix: '_bucket' });
  out.push({ labels, value: sum, suffix: '_sum' });
  out.push({ labels, value: n, suffix: '_count' });
  return out;
}

/** A set of metrics and collectors, written in the Prometheus text format (version 0.0.4). */
export class Registry {
  private readonly metrics = new Map<string, { readonly name: string; family(): MetricFamily }>();
  private readonly collectors: Collector[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** Adds a scrape-time collector; returns its remover. */
  collect(fn: Collector): () => void {
    this.collectors.push(fn);
    return () => {
      const i = this.collectors.indexOf(fn);
      if (i >= 0) this.collectors.splice(i, 1);
    };
  }

  /** The exposition text. Families with the same name from several collectors are merged. */
  render(): string {
    const families = new Map<string, MetricFamily>();
    const put = (f: MetricFamily): void => {
      const known = families.get(f.name);
      if (known) known.samples.push(...f.samples);
      else families.set(f.name, { ...f, samples: [...f.samples] });
    };
    for (const m of this.metrics.values()) put(m.family());
    for (const c of this.collectors) for (const f of c()) put(f);
    const lines: string[] = [];
    for (const f of families.values()) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ''}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
    }
    return lines.join('\n') + '\n';
  }

  private add<M extends { readonly name: string; family(): MetricFamily }>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeValue(labels[k] ?? '')}"`).join(',')}}`;
}

/** Numbers as Prometheus writes them (`+Inf`, `-Inf`, `NaN`). */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
