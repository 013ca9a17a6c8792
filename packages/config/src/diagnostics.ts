/** One problem found in a config file. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** The file as it was named to the loader. */
  file: string;
  /** 1-based line; 0 when the problem concerns the file as a whole (unreadable, not UTF-8). */
  line: number;
  /** 1-based column, for TOML syntax errors only. */
  column?: number;
  /** Dotted key path such as `runners[0].autoscaler.max_instances`; '' for syntax errors. */
  path: string;
  /** What is wrong and what was expected: `must be ≥ 1, got 0`. */
  message: string;
}

/** Collects diagnostics for one file and remembers the line of every key path it has seen. */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  private readonly lines = new Map<string, number>();

  constructor(readonly file: string) {}

  /** Records where `path` is written, so later rules can point at it. */
  locate(path: string, line: number): void {
    if (!this.lines.has(path)) this.lines.set(path, line);
  }

  /** The line of `path`, or of its nearest written ancestor (`a.b[2].c` → `a.b[2]` → `a.b` → `a`), or 1. */
  lineOf(path: string): number {
    let p = path;
    for (;;) {
      const line = this.lines.get(p);
      if (line !== undefined) return line;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) return 1;
      p = p.slice(0, cut);
    }
  }

  error(path: string, message: string, line = this.lineOf(path)): void {
    this.errors.push({ severity: 'error', file: this.file, line, path, message });
  }

  warn(path: string, message: string, line = this.lineOf(path)): void {
    this.warnings.push({ severity: 'warning', file: this.file, line, path, message });
  }

  /** Errors and warnings each sorted by line, then path. */
  sorted(): { errors: Diagnostic[]; warnings: Diagnostic[] } {
    const order = (a: Diagnostic, b: Diagnostic): number => a.line - b.line || a.path.localeCompare(b.path);
    return { errors: [...this.errors].sort(order), warnings: [...this.warnings].sort(order) };
  }
}

/**
 * One diagnostic as one line: `config.toml:12: runners[0].autoscaler.max_instances: must be ≥ 1, got 0`.
 * Warnings say so after the position (`config.toml:3: warning: …`); syntax errors carry the column
 * (`config.toml:4:17: …`); whole-file problems have no line (`config.toml: …`).
 */
export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file;
  if (d.line > 0) where += `:${d.line}`;
  if (d.line > 0 && d.column !== undefined) where += `:${d.column}`;
  const severity = d.severity === 'warning' ? 'warning: ' : '';
  const path = d.path === '' ? '' : `${d.path}: `;
  return `${where}: ${severity}${path}${d.message}`;
}

/**
 * Every diagnostic of a load result, errors and warnings merged in line order, one per line, then a summary
 * line (`config.toml: 1 error, 2 warnings` or `config.toml: valid`). Pure: the caller decides where to print.
 */
export function formatDiagnostics(result: { file?: string; errors: readonly Diagnostic[]; warnings: readonly Diagnostic[] }): string {
  const all = [...result.errors, ...result.warnings].sort((a, b) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0));
  const file = result.file ?? all[0]?.file ?? 'config';
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const summary =
    all.length === 0 ? `${file}: valid` : `${file}: ${count(result.errors.length, 'error')}, ${count(result.warnings.length, 'warning')}`;
  return [...all.map(formatDiagnostic), summary].join('\n');
}
