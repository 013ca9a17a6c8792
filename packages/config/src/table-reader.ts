import { RunnerError, formatGoDuration, parseGoDuration } from '@fleetrunner/common';
import type { DiagnosticSink } from './diagnostics.js';
import { describeNode, formatKey, tomlToPlain, type TomlNode, type TomlTable } from './toml-nodes.js';
import { notHonoured } from './not-honoured.js';

/** Bounds for numbers; messages read `must be ≥ 1, got 0`. */
export interface NumberBounds {
  min?: number;
  max?: number;
}

/**
 * Reads typed values out of one TOML table for the schema stage. Each getter returns undefined when the key is
 * absent or wrong (after reporting an error with the key's line and dotted path), so the defaults stage can
 * fill in. `finish()` warns about every key nobody asked for.
 */
export class TableReader {
  private readonly known = new Set<string>();
  private readonly used = new Set<string>();

  constructor(
    readonly table: TomlTable,
    readonly path: string,
    readonly sink: DiagnosticSink,
  ) {
    sink.locate(path, table.line);
  }

  /** The dotted path of `key` under this table. */
  pathOf(key: string): string {
    return this.path === '' ? formatKey(key) : `${this.path}.${formatKey(key)}`;
  }

  /** True when `key` is written (exactly or case-insensitively). */
  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  /**
   * The node of `key`. Like GitLab Runner's TOML decoder, a key that matches only case-insensitively is still
   * accepted (with a warning naming the right spelling).
   */
  get(key: string): TomlNode | undefined {
    this.known.add(key);
    const found = this.find(key);
    if (found === undefined) return undefined;
    this.used.add(found.key);
    this.sink.locate(this.pathOf(key), found.node.line);
    if (found.key !== key) this.sink.warn(this.pathOf(found.key), `key matched ${formatKey(key)} case-insensitively; write ${formatKey(key)}`, found.node.line);
    const why = notHonoured(this.pathOf(key));
    if (why !== undefined) this.sink.warn(this.pathOf(key), `parsed but not honoured: ${why}`, found.node.line);
    return found.node;
  }

  private find(key: string): { key: string; node: TomlNode } | undefined {
    const exact = this.table.entries.get(key);
    if (exact !== undefined) return { key, node: exact };
    const lower = key.toLowerCase();
    for (const [k, node] of this.table.entries) if (k.toLowerCase() === lower) return { key: k, node };
    return undefined;
  }

  /** Reports a wrong type; returns undefined for the caller to pass on. */
  private mismatch(key: string, node: TomlNode, expected: string): undefined {
    this.sink.error(this.pathOf(key), `expected ${expected}, got ${describeNode(node)}`, node.line);
    return undefined;
  }

  string(key: string): string | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    return node.type === 'string' ? node.value : this.mismatch(key, node, 'a string');
  }

  /** A string that must be one of `choices` (compared case-sensitively). */
  choice<T extends string>(key: string, choices: readonly T[]): T | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    if ((choices as readonly string[]).includes(v)) return v as T;
    this.error(key, `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(v)}`);
    return undefined;
  }

  bool(key: string): boolean | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    return node.type === 'boolean' ? node.value : this.mismatch(key, node, 'a boolean (true or false)');
  }

  /** An integer within ±2^53 and `bounds`. */
  int(key: string, bounds: NumberBounds = {}): number | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'integer') return this.mismatch(key, node, 'an integer');
    if (node.value > BigInt(Number.MAX_SAFE_INTEGER) || node.value < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.error(key, `integer ${node.value.toString()} is too large (limit ±2^53)`);
      return undefined;
    }
    return this.bounded(key, Number(node.value), bounds, String);
  }

  /** A float; integers are accepted as floats, as Go's decoder does. */
  float(key: string, bounds: NumberBounds = {}): number | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'float' && node.type !== 'integer') return this.mismatch(key, node, 'a number');
    const v = Number(node.value);
    if (!Number.isFinite(v)) {
      this.error(key, `expected a finite number, got ${describeNode(node)}`);
      return undefined;
    }
    return this.bounded(key, v, bounds, String);
  }

  /**
   * A Go duration in milliseconds: a string (`"1h30m"`) or, as in Go, a bare integer of nanoseconds (warned
   * about unless 0, since `idle_time = 300` almost always meant seconds).
   */
  duration(key: string, bounds: NumberBounds = {}): number | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    let ms: number;
    if (node.type === 'string') {
      try {
        ms = parseGoDuration(node.value);
      } catch (err) {
        this.error(key, err instanceof RunnerError ? err.message : String(err));
        return undefined;
      }
    } else if (node.type === 'integer') {
      ms = Number(node.value) / 1e6;
      if (node.value !== 0n) {
        this.sink.warn(this.pathOf(key), `bare integer ${node.value.toString()} is read as nanoseconds (${formatGoDuration(ms)}); write a duration string such as "${node.value.toString()}s"`, node.line);
      }
    } else {
      return this.mismatch(key, node, 'a duration string such as "90s", "15m" or "1h30m"');
    }
    return this.bounded(key, ms, bounds, formatGoDuration);
  }

  /** An offset or local date-time as ms since the epoch (local ones in the local zone). */
  datetime(key: string): number | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'datetime' || node.kind === 'local-time') return this.mismatch(key, node, 'a date-time such as 2024-01-31T12:00:00Z');
    return node.epochMs ?? Date.parse(node.kind === 'local-date' ? `${node.text}T00:00:00` : node.text.slice(0, 23));
  }

  stringArray(key: string): string[] | undefined {
    return this.array(key, 'an array of strings', (n) => (n.type === 'string' ? n.value : undefined));
  }

  numberArray(key: string): number[] | undefined {
    return this.array(key, 'an array of numbers', (n) => (n.type === 'float' || n.type === 'integer' ? Number(n.value) : undefined));
  }

  private array<T>(key: string, expected: string, item: (n: TomlNode) => T | undefined): T[] | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'array') return this.mismatch(key, node, expected);
    const out: T[] = [];
    node.items.forEach((n, i) => {
      this.sink.locate(`${this.pathOf(key)}[${i}]`, n.line);
      const v = item(n);
      if (v === undefined) this.sink.error(`${this.pathOf(key)}[${i}]`, `expected ${expected.replace(/^an array of /, 'a ').replace(/s$/, '')}, got ${describeNode(n)}`, n.line);
      else out.push(v);
    });
    return out;
  }

  /** A table of values all read by `item` (feature flags, labels), keyed as written. */
  map<T>(key: string, expected: string, item: (n: TomlNode) => T | undefined): Record<string, T> | undefined {
    const sub = this.section(key);
    if (sub === undefined) return undefined;
    const out: Record<string, T> = {};
    for (const [k, n] of sub.table.entries) {
      sub.get(k);
      const v = item(n);
      if (v === undefined) this.sink.error(sub.pathOf(k), `expected ${expected}, got ${describeNode(n)}`, n.line);
      else Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** A free-form table as plain JSON data (`plugin_config`, `nesting_config`); its keys are not checked. */
  plain(key: string): Record<string, unknown> | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'table') return this.mismatch(key, node, 'a table');
    return tomlToPlain(node) as Record<string, unknown>;
  }

  /** A sub-table reader; the caller must `finish()` it. */
  section(key: string): TableReader | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'table') return this.mismatch(key, node, 'a table');
    return new TableReader(node, this.pathOf(key), this.sink);
  }

  /** Readers for an array of tables (`[[runners]]`, or an array of inline tables), paths `key[i]`. */
  tables(key: string): TableReader[] | undefined {
    const node = this.get(key);
    if (node === undefined) return undefined;
    if (node.type !== 'array') return this.mismatch(key, node, 'an array of tables');
    // One bad element rejects the whole list, so the indices in later paths stay those of the file.
    const bad = node.items.findIndex((n) => n.type !== 'table');
    if (bad >= 0) {
      const n = node.items[bad] as TomlNode;
      this.sink.error(`${this.pathOf(key)}[${bad}]`, `expected a table, got ${describeNode(n)}`, n.line);
      return undefined;
    }
    return node.items.map((n, i) => new TableReader(n as TomlTable, `${this.pathOf(key)}[${i}]`, this.sink));
  }

  /** A key GitLab Runner knows but fleetrunner does not use: warned about, not unknown. */
  ignore(key: string, why: string): void {
    const node = this.get(key);
    if (node !== undefined) this.sink.warn(this.pathOf(key), `${why}; ignored`, node.line);
  }

  error(key: string, message: string): void {
    this.sink.error(this.pathOf(key), message);
  }

  warn(key: string, message: string): void {
    this.sink.warn(this.pathOf(key), message);
  }

  /** Marks every key of the table as read, without a warning (a table the caller skips as a whole). */
  skipRest(): void {
    for (const k of this.table.entries.keys()) this.used.add(k);
  }

  /** Warns about every key that no getter asked for, suggesting a close known key. */
  finish(): void {
    for (const [k, node] of this.table.entries) {
      if (this.used.has(k)) continue;
      const hint = suggest(k, this.known);
      const where = this.path === '' ? 'at the top level' : `in [${this.path.replace(/\[\d+\]/g, '')}]`;
      this.sink.warn(this.pathOf(k), `unknown key ${where}, ignored${hint === undefined ? '' : ` (did you mean ${formatKey(hint)}?)`}`, node.line);
    }
  }

  private bounded(key: string, v: number, b: NumberBounds, show: (v: number) => string): number | undefined {
    if (b.min !== undefined && v < b.min) {
      this.error(key, `must be ≥ ${show(b.min)}, got ${show(v)}`);
      return undefined;
    }
    if (b.max !== undefined && v > b.max) {
      this.error(key, `must be ≤ ${show(b.max)}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
}

/** The known key closest to `key` within an edit distance of 2 (or a third of its length), if any. */
function suggest(key: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
