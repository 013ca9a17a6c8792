import { isControl, type Cursor } from './toml-cursor.js';

/** Reads any of the four TOML string forms at the cursor (which is on `"` or `'`). */
export function readString(c: Cursor): string {
  if (c.startsWith('"""')) return readMultiline(c, '"');
  if (c.startsWith("'''")) return readMultiline(c, "'");
  if (c.peek() === '"') return readBasic(c);
  return readLiteral(c);
}

function readBasic(c: Cursor): string {
  const start = c.pos;
  c.pos++;
  let out = '';
  for (;;) {
    if (c.eof() || c.peek() === '\n' || c.peek() === '\r') c.fail('unterminated string', start);
    const ch = c.next();
    if (ch === '"') return out;
    if (ch === '\\') out += readEscape(c);
    else if (isControl(ch)) c.fail('control character in string; use an escape', c.pos - 1);
    else out += ch;
  }
}

function readLiteral(c: Cursor): string {
  const start = c.pos;
  c.pos++;
  let out = '';
  for (;;) {
    if (c.eof() || c.peek() === '\n' || c.peek() === '\r') c.fail('unterminated literal string', start);
    const ch = c.next();
    if (ch === "'") return out;
    if (isControl(ch)) c.fail('control character in literal string', c.pos - 1);
    out += ch;
  }
}

function readMultiline(c: Cursor, quote: '"' | "'"): string {
  const start = c.pos;
  c.pos += 3;
  // A newline right after the opening delimiter is trimmed.
  c.consumeNewline();
  let out = '';
  for (;;) {
    if (c.eof()) c.fail(`unterminated multi-line ${quote === '"' ? 'basic' : 'literal'} string`, start);
    if (c.peek() === quote && c.peek(1) === quote && c.peek(2) === quote) {
      let n = 3;
      while (c.peek(n) === quote) n++;
      if (n > 5) c.fail('too many quotes at the end of a multi-line string', c.pos + 5);
      out += quote.repeat(n - 3);
      c.pos += n;
      return out;
    }
    if (c.atNewline()) {
      out += '\n';
      c.consumeNewline();
      continue;
    }
    const ch = c.next();
    if (quote === '"' && ch === '\\') {
      if (trimLineEndingBackslash(c)) continue;
      out += readEscape(c);
    } else if (isControl(ch)) {
      c.fail('control character in multi-line string', c.pos - 1);
    } else {
      out += ch;
    }
  }
}

/**
 * A backslash that is the last non-blank character on a line swallows the newline and all whitespace and
 * newlines after it. The cursor is just past the backslash; returns false (and moves nothing) otherwise.
 */
function trimLineEndingBackslash(c: Cursor): boolean {
  let i = 0;
  while (c.peek(i) === ' ' || c.peek(i) === '\t') i++;
  const nl = c.peek(i) === '\n' || (c.peek(i) === '\r' && c.peek(i + 1) === '\n');
  if (!nl) return false;
  c.pos += i;
  for (;;) {
    c.skipWs();
    if (!c.consumeNewline()) return true;
  }
}

function readEscape(c: Cursor): string {
  const at = c.pos - 1;
  const e = c.next();
  switch (e) {
    case 'b':
      return '\b';
    case 't':
      return '\t';
    case 'n':
      return '\n';
    case 'f':
      return '\f';
    case 'r':
      return '\r';
    case '"':
      return '"';
    case '\\':
      return '\\';
    case 'u':
      return readUnicode(c, 4, at);
    case 'U':
      return readUnicode(c, 8, at);
    default:
      return c.fail(`invalid escape sequence \\${e}`, at);
  }
}

function readUnicode(c: Cursor, digits: number, at: number): string {
  const hex = c.src.slice(c.pos, c.pos + digits);
  if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) c.fail(`\\${digits === 4 ? 'u' : 'U'} needs ${digits} hex digits`, at);
  const cp = parseInt(hex, 16);
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) c.fail(`\\${hex} is not a Unicode scalar value`, at);
  c.pos += digits;
  return String.fromCodePoint(cp);
}
