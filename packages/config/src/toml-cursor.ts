import { RunnerError } from '@fleetrunner/common';

/** A TOML syntax error at a 1-based line and column. `code` is `invalid_argument`. */
export class TomlSyntaxError extends RunnerError {
  readonly line: number;
  readonly column: number;
  /** The bare reason, without the position. */
  readonly reason: string;

  constructor(reason: string, line: number, column: number) {
    super('invalid_argument', `${line}:${column}: ${reason}`, { details: { line, column } });
    this.name = 'TomlSyntaxError';
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

/** Characters TOML forbids in comments and strings: C0 controls except tab, and DEL. */
export function isControl(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return (code <= 0x1f && code !== 0x09) || code === 0x7f;
}

/** A read position over the source text with line bookkeeping and the whitespace/comment rules of TOML. */
export class Cursor {
  readonly src: string;
  pos = 0;
  private readonly lineStarts: number[] = [0];

  constructor(src: string) {
    this.src = src;
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  /** The character `offset` places ahead, or '' past the end. */
  peek(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  /** What the cursor is on, for messages: `end of file`, `end of line` or the quoted character. */
  here(): string {
    if (this.eof()) return 'end of file';
    if (this.peek() === '\n' || this.peek() === '\r') return 'end of line';
    return JSON.stringify(this.peek());
  }

  eof(): boolean {
    return this.pos >= this.src.length;
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  next(): string {
    const ch = this.src[this.pos] ?? '';
    this.pos++;
    return ch;
  }

  loc(pos = this.pos): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: pos - (this.lineStarts[lo] ?? 0) + 1 };
  }

  fail(reason: string, pos = this.pos): never {
    const { line, column } = this.loc(pos);
    throw new TomlSyntaxError(reason, line, column);
  }

  /** Spaces and tabs. */
  skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** A `#` comment up to (not including) the line end. */
  skipComment(): void {
    if (this.peek() !== '#') return;
    while (!this.eof() && this.peek() !== '\n') {
      if (this.peek() === '\r' && this.peek(1) === '\n') return;
      if (isControl(this.peek())) this.fail('control character in comment');
      this.pos++;
    }
  }

  /** True at LF or CRLF; a lone CR is an error. */
  atNewline(): boolean {
    if (this.peek() === '\n') return true;
    if (this.peek() === '\r') {
      if (this.peek(1) === '\n') return true;
      this.fail('carriage return must be followed by a line feed');
    }
    return false;
  }

  consumeNewline(): boolean {
    if (!this.atNewline()) return false;
    this.pos += this.peek() === '\r' ? 2 : 1;
    return true;
  }

  /** Whitespace, comments and newlines, as allowed between array elements. */
  skipBlank(): void {
    for (;;) {
      this.skipWs();
      this.skipComment();
      if (!this.consumeNewline()) return;
    }
  }

  /** After a key/value pair or a header only a comment may follow on the same line. */
  expectLineEnd(what: string): void {
    this.skipWs();
    this.skipComment();
    if (this.eof() || this.consumeNewline()) return;
    this.fail(`expected a newline after ${what}, found ${this.here()}`);
  }
}
