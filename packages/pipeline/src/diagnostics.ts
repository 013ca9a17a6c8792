import { RunnerError } from '@fleetrunner/common';
import type { PipelineWarning, SourcePos } from './types.js';

/** One configuration error: where, which key path, what. */
export interface PipelineProblem extends SourcePos {
  path: string;
  message: string;
}

/** Formats a problem as `file:line: path: message` (the path is left out when empty). */
export function formatProblem(p: PipelineProblem): string {
  return `${p.file}:${p.line}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** Collects errors and warnings while a pipeline is read, so that one run reports all of them. */
export class Diagnostics {
  readonly errors: PipelineProblem[] = [];
  readonly warnings: PipelineWarning[] = [];

  /** Records an error; the same message at the same place is kept once (defaults are read for every job). */
  error(at: SourcePos & { invalid?: true }, path: string, message: string): void {
    if (at.invalid === true) return;
    if (this.errors.some((e) => e.file === at.file && e.line === at.line && e.message === message)) return;
    this.errors.push({ file: at.file, line: at.line, path, message });
  }

  warn(at: SourcePos, path: string, message: string): void {
    if (this.warnings.some((w) => w.file === at.file && w.line === at.line && w.message === message)) return;
    this.warnings.push({ file: at.file, line: at.line, path, message });
  }

  /** Throws one `invalid_argument` RunnerError listing every error, when there is any. */
  throwIfErrors(context: string): void {
    if (this.errors.length === 0) return;
    const sorted = [...this.errors].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
    const lines = sorted.map(formatProblem);
    const message = lines.length === 1 ? lines[0]! : `${lines.length} errors:\n  ${lines.join('\n  ')}`;
    throw new RunnerError('invalid_argument', `${context}: ${message}`, { details: { errors: sorted } });
  }
}
