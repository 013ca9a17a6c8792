import { RunnerError } from '@fleetrunner/common';
import { parseTOML, ParseError, type AST } from 'toml-eslint-parser';
import { formatKey, type TomlArray, type TomlDateTime, type TomlNode, type TomlTable, type TomlTableKind } from './toml-nodes.js';

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

/** A parsed document: the value tree the schema reads, and the syntax tree with the offsets edits work on. */
export interface TomlDocument {
  root: TomlTable;
  /** toml-eslint-parser's syntax tree; offsets (`range`) are into `text`. */
  ast: AST.TOMLProgram;
  /** The text the offsets refer to: the source without a leading byte-order mark. */
  text: string;
}

const INT_MIN = -(2n ** 63n);
const INT_MAX = 2n ** 63n - 1n;
const TOML_VERSION = '1.0';

/**
 * Parses a TOML 1.0 document into a root table whose every node carries its line and column.
 * Throws `TomlSyntaxError` (code `invalid_argument`) at the first error, with the 1-based line and column.
 */
export function parseToml(src: string): TomlTable {
  return parseTomlDocument(src).root;
}

/** `parseToml`, also returning the syntax tree (for edits of the text at the tree's positions). */
export function parseTomlDocument(src: string): TomlDocument {
  const text = src.startsWith('\uFEFF') ? src.slice(1) : src;
  const { ast, renamed } = syntaxTree(text);
  // toml-eslint-parser takes a carriage return without a line feed between tokens for a line break; TOML does not.
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text[i + 1] !== '\n') {
      const at = lineColumn(text, i);
      throw new TomlSyntaxError('carriage return must be followed by a line feed', at.line, at.column);
    }
  }
  return { root: new Builder(text, renamed).document(ast), ast, text };
}

/**
 * The syntax tree of `text`. toml-eslint-parser reports every clash of keys and tables with one generic message
 * ("Defining a key multiple times is invalid") at the later key; to say what clashed with what, that key is
 * replaced by a fresh bare key of the same length (so every offset, line and column stays) and the text parsed
 * again. `renamed` maps the offset of each replaced key to its real name, and the Builder, which applies TOML's
 * table rules itself, reports the first clash in document order with its own message.
 */
function syntaxTree(text: string): { ast: AST.TOMLProgram; renamed: Map<number, string> } {
  const renamed = new Map<number, string>();
  const tries = new Map<number, number>();
  let work = text;
  let first: ParseError | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return { ast: parseTOML(work, { tomlVersion: TOML_VERSION }), renamed };
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      if (err.message !== DUPLICATE_MESSAGE) throw syntaxError(err, work);
      first ??= err;
      const n = tries.get(err.index) ?? 0;
      tries.set(err.index, n + 1);
      const next = attempt < 64 ? renameKeyAt(work, err.index, n, renamed) : undefined;
      if (next === undefined) throw duplicateFallback(first, text);
      work = next;
    }
  }
}

/** The message toml-eslint-parser gives every duplicate key or table. */
const DUPLICATE_MESSAGE = ((): string => {
  try {
    parseTOML('a = 1\na = 2');
  } catch (err) {
    if (err instanceof ParseError) return err.message;
  }
  throw new Error('toml-eslint-parser accepted a duplicate key');
})();

const BARE_KEY_CHAR = /[A-Za-z0-9_-]/;
const FRESH_CHARS = 'QZXJKVWYqzxjkvwy0123456789ABCDEFGHILMNOPRSTUabcdefghilmnoprstu_-';

/** `text` with the key token at `at` replaced by the `n`-th fresh bare key of its length; undefined if none. */
function renameKeyAt(text: string, at: number, n: number, renamed: Map<number, string>): string | undefined {
  const end = keyTokenEnd(text, at);
  if (end === undefined) return undefined;
  const len = end - at;
  if (n >= FRESH_CHARS.length ** Math.min(len, 3)) return undefined;
  let fresh = '';
  for (let i = 0, k = n; i < len; i++, k = Math.floor(k / FRESH_CHARS.length)) fresh += FRESH_CHARS[k % FRESH_CHARS.length];
  if (!renamed.has(at)) renamed.set(at, keyName(text.slice(at, end)));
  return text.slice(0, at) + fresh + text.slice(end);
}

/** The end offset of the bare or single-line quoted key starting at `at`. */
function keyTokenEnd(text: string, at: number): number | undefined {
  const q = text[at];
  if (q === '"' || q === "'") {
    for (let i = at + 1; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') return undefined;
      if (q === '"' && c === '\\') i++;
      else if (c === q) return i + 1;
    }
    return undefined;
  }
  let i = at;
  while (i < text.length && BARE_KEY_CHAR.test(text[i] as string)) i++;
  return i > at ? i : undefined;
}

/** The name of one key token (bare or quoted, escapes decoded), read by parsing it as a document of its own. */
function keyName(token: string): string {
  const kv = parseTOML(`${token} = 0`, { tomlVersion: TOML_VERSION }).body[0].body[0];
  const part = kv?.type === 'TOMLKeyValue' ? kv.key.keys[0] : undefined;
  return part === undefined ? token : part.type === 'TOMLBare' ? part.name : part.value;
}

function duplicateFallback(err: ParseError, text: string): TomlSyntaxError {
  const end = keyTokenEnd(text, err.index);
  const key = end === undefined ? 'a key' : `key ${text.slice(err.index, end)}`;
  return new TomlSyntaxError(`${key} is defined more than once`, err.lineNumber, err.column + 1);
}

/** What is at `index`, for messages: `end of file`, `end of line` or the quoted character. */
function found(text: string, index: number): string {
  if (index >= text.length) return 'end of file';
  const c = text[index];
  if (c === '\n' || (c === '\r' && text[index + 1] === '\n')) return 'end of line';
  const cp = text.codePointAt(index) as number;
  if (cp < 0x20 || cp === 0x7f) return `control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(String.fromCodePoint(cp));
}

/** The last character before `index` on its line that is not a space or tab ('' at the line start). */
function before(text: string, index: number): string {
  for (let i = index - 1; i >= 0; i--) {
    const c = text[i];
    if (c === '\n') return '';
    if (c !== ' ' && c !== '\t') return c as string;
  }
  return '';
}

/** The last character before `index` that is not white space or a line break ('' at the start). */
function previousSignificant(text: string, index: number): string {
  let i = Math.min(index, text.length) - 1;
  while (i >= 0 && ' \t\r\n'.includes(text[i] as string)) i--;
  return text[i] ?? '';
}

/** The first character of the line of `index` that is not a space or tab. */
function firstOnLine(text: string, index: number): string {
  let i = text.lastIndexOf('\n', index - 1) + 1;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return text[i] ?? '';
}

/**
 * For a value missing after `=` at the end of a line, toml-eslint-parser points at the next token or the end of
 * the file; the offset just after that `=`, where the value belongs, or undefined when that is not the case.
 */
function missingValueAt(text: string, index: number): number | undefined {
  let i = Math.min(index, text.length) - 1;
  let crossed = index >= text.length;
  while (i >= 0 && ' \t\r\n'.includes(text[i] as string)) {
    if (text[i] === '\n') crossed = true;
    i--;
  }
  return crossed && text[i] === '=' ? i + 1 : undefined;
}

/** 1-based line and column of an offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const KEY_VALUE_NEWLINE_TEXT = 'The key, equals sign, and value must be on the same line';
const INLINE_NEWLINE_TEXT = 'No newlines are allowed between the curly braces unless they are valid within a value';

/** toml-eslint-parser's messages (by text, for the pinned version) → ours: what was expected and what was found. */
const REASONS: Record<string, (f: string, text: string, index: number) => string> = {
  'Unterminated string constant': (f) => `unterminated string: expected the closing quote, found ${f}`,
  'Unterminated table-key': (f) => `expected ] to close the table header, found ${f}`,
  'Unterminated array': (f) => `expected "," or "]" in array, found ${f}`,
  'Unterminated inline table': (f) => `expected "," or "}" in inline table, found ${f}`,
  'Empty bare keys are not allowed': (f) => `expected a key, found ${f}`,
  'Must be a newline': (f, text, index) => `expected a newline after ${firstOnLine(text, index) === '[' ? 'a table header' : 'a value'}, found ${f}`,
  'Expected equal (=) token': (f) => `expected "=" after the key, found ${f}`,
  'Unspecified values are invalid': (f, text, index) =>
    '[,'.includes(previousSignificant(text, index) || '=') ? `expected a value or "]" in array, found ${f}` : `expected a value, found ${f}`,
  'Expected comma (,) token': (f) => `expected "," between the items, found ${f}`,
  'Unexpected character': (f, text, index) =>
    index > 0 && /[0-9A-Za-z_:.+-]/.test(text[index - 1] as string)
      ? `unexpected ${f} in a number, boolean or date-time (expected e.g. 42, 1.5, true, 1979-05-27T07:32:00Z or 07:32:00: times need seconds)`
      : `unexpected ${f}: expected a value ("string", number, true/false, date-time, [array] or {inline table}) or a key (A-Z a-z 0-9 _ - or quoted)`,
  'Unexpected token': (f, text, index) => {
    if (text.startsWith('"""', index) || text.startsWith("'''", index)) return 'a key cannot be a multi-line string';
    if (before(text, index) === '=') return `expected a value, found ${f}`;
    if (previousSignificant(text, index) === '{') return `expected a key or "}" in inline table, found ${f}`;
    return `unexpected ${f}: expected a key = value pair or a [table] header`;
  },
  'Control characters (codes < 0x1f and 0x7f) are not allowed': (f) => `${f} is not allowed in a string or comment; write it as an escape such as \\u0001 in a basic string`,
  [KEY_VALUE_NEWLINE_TEXT]: (f) =>
    `expected the key, "=" and value (or a whole table header) on one line, found a line break before ${f}`,
  [INLINE_NEWLINE_TEXT]: () => 'an inline table must be on one line',
  'Underscores are allowed between digits': () => 'an underscore in a number must stand between two digits',
  'Unexpected spaces': () => 'no space is allowed between the brackets of [[ ]]',
  'Three or more quotes are not permitted': () => 'too many quotes at the end of a multi-line string',
  'Unexpected invalid date': () => 'invalid date: expected YYYY-MM-DD with month 01-12 and a day the month has',
  'Unexpected invalid time': () => 'invalid time: expected HH:MM:SS with hour 00-23, minute 00-59, second 00-60 (and an offset up to ±23:59)',
  'Leading zeros are not allowed': () => 'a number cannot have leading zeros',
  'Trailing comma is not permitted in an inline table': () => 'trailing comma in inline table',
  'Invalid character in escape sequence': () => 'invalid escape sequence: expected one of \\b \\t \\n \\f \\r \\" \\\\ \\uXXXX \\UXXXXXXXX',
  'Consecutive dots are not permitted in keys': () => 'expected a key between the dots',
  'Keys cannot end with a dot': () => 'expected a key after the dot',
  'Keys cannot start with a dot': () => 'expected a key before the dot',
};

/** toml-eslint-parser reads a lone CR as white space; the offset of one on the error's line before `index`. */
function loneCarriageReturn(text: string, index: number): number | undefined {
  for (let i = Math.min(index, text.length - 1); i >= 0 && text[i] !== '\n'; i--) if (text[i] === '\r' && text[i + 1] !== '\n') return i;
  return undefined;
}

/** Messages toml-eslint-parser gives, depending on what follows, for a value missing at the end of a line. */
const MAYBE_MISSING_VALUE = new Set([
  'Unspecified values are invalid',
  KEY_VALUE_NEWLINE_TEXT,
  'Unexpected character',
  'Unexpected token',
]);

function syntaxError(err: ParseError, text: string): TomlSyntaxError {
  const line = err.lineNumber;
  const column = err.column + 1;
  const cr = loneCarriageReturn(text, err.index);
  if (cr !== undefined) return new TomlSyntaxError('carriage return must be followed by a line feed', line, cr - err.index + column);
  const code = /^Invalid code point (.+)$/.exec(err.message);
  if (code) return new TomlSyntaxError(`\\u${code[1]} is not a Unicode scalar value`, line, column);
  if (MAYBE_MISSING_VALUE.has(err.message)) {
    const at = missingValueAt(text, err.index);
    if (at !== undefined) {
      const where = lineColumn(text, at);
      return new TomlSyntaxError(`expected a value, found ${found(text, at)}`, where.line, where.column);
    }
  }
  if (err.message === KEY_VALUE_NEWLINE_TEXT) {
    // Said at the token after the break: point at the end of the unfinished line instead.
    const brk = breakAfterLastContent(text, err.index);
    if (brk !== undefined) {
      const where = lineColumn(text, brk);
      const start = brk - where.column + 1;
      const reason = text.startsWith('[[', start + leading(text, start))
        ? 'expected ]] to close the table header, found end of line'
        : firstOnLine(text, brk) === '['
          ? 'expected ] to close the table header, found end of line'
          : 'expected "=" and the value on the same line as the key, found end of line';
      return new TomlSyntaxError(reason, where.line, where.column);
    }
  }
  if (err.message === INLINE_NEWLINE_TEXT) {
    const brk = breakAfterLastContent(text, err.index);
    if (brk !== undefined) {
      const where = lineColumn(text, brk);
      return new TomlSyntaxError('an inline table must be on one line', where.line, where.column);
    }
  }
  const reason = REASONS[err.message];
  const text0 = reason ? reason(found(text, err.index), text, err.index) : err.message;
  if (err.index >= text.length) {
    // At the end of the file: point just after the last thing written rather than at the empty last line.
    const end = lastContentEnd(text);
    const where = lineColumn(text, end);
    return new TomlSyntaxError(text0, where.line, where.column);
  }
  return new TomlSyntaxError(text0, line, column);
}

/** Spaces and tabs at `start`. */
function leading(text: string, start: number): number {
  let i = start;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i - start;
}

/** Offset just after the last character that is not white space or a line break. */
function lastContentEnd(text: string): number {
  let i = text.length;
  while (i > 0 && ' \t\r\n'.includes(text[i - 1] as string)) i--;
  return i;
}

/** The line break (its CR of a CRLF) that ends the line of the last content before `index`, if one comes before it. */
function breakAfterLastContent(text: string, index: number): number | undefined {
  let q = Math.min(index, text.length) - 1;
  while (q >= 0 && ' \t\r\n'.includes(text[q] as string)) q--;
  if (q < 0) return undefined;
  const nl = text.indexOf('\n', q);
  if (nl < 0 || nl >= index) return undefined;
  return text[nl - 1] === '\r' ? nl - 1 : nl;
}

type Located = { loc: AST.SourceLocation };
type KeyPart = AST.TOMLBare | AST.TOMLQuoted;

/** Builds the TomlNode tree from the syntax tree, applying TOML 1.0's rules on defining tables and keys. */
class Builder {
  private readonly root: TomlTable = { type: 'table', entries: new Map(), kind: 'root', line: 1, column: 1 };

  constructor(
    private readonly text: string,
    private readonly renamed: ReadonlyMap<number, string>,
  ) {}

  document(ast: AST.TOMLProgram): TomlTable {
    for (const item of ast.body[0].body) {
      if (item.type === 'TOMLKeyValue') {
        this.keyValue(this.root, [], item);
        continue;
      }
      const { table, path } = this.header(item);
      for (const kv of item.body) this.keyValue(table, path, kv);
    }
    return this.root;
  }

  private name(k: KeyPart): string {
    return this.renamed.get(k.range[0]) ?? (k.type === 'TOMLBare' ? k.name : k.value);
  }

  private fail(reason: string, at: Located): never {
    throw new TomlSyntaxError(reason, at.loc.start.line, at.loc.start.column + 1);
  }

  private header(node: AST.TOMLTable): { table: TomlTable; path: string[] } {
    const { line, column } = pos(node);
    const keys = node.key.keys;
    const path = keys.map((k) => this.name(k));
    const parent = this.walkHeaderPrefix(keys.slice(0, -1), line, column);
    const last = path[path.length - 1] as string;
    const existing = parent.entries.get(last);
    const where = pathText(path);
    if (node.kind === 'array') {
      const element: TomlTable = { type: 'table', entries: new Map(), kind: 'header', line, column };
      if (existing === undefined) {
        parent.entries.set(last, { type: 'array', items: [element], ofTables: true, line, column });
      } else if (existing.type === 'array' && existing.ofTables) {
        existing.items.push(element);
      } else {
        this.fail(`cannot define [[${where}]]: ${where} is already ${definedAs(existing)}`, node);
      }
      return { table: element, path };
    }
    if (existing === undefined) {
      const table: TomlTable = { type: 'table', entries: new Map(), kind: 'header', line, column };
      parent.entries.set(last, table);
      return { table, path };
    }
    if (existing.type === 'table' && existing.kind === 'implicit') {
      existing.kind = 'header';
      existing.line = line;
      existing.column = column;
      return { table: existing, path };
    }
    return this.fail(`cannot define [${where}]: ${where} is already ${definedAs(existing)}`, node);
  }

  /** Walks the prefix of a header, creating implicit tables and entering the last element of arrays of tables. */
  private walkHeaderPrefix(keys: KeyPart[], line: number, column: number): TomlTable {
    let table = this.root;
    const seen: string[] = [];
    for (const k of keys) {
      const name = this.name(k);
      seen.push(name);
      const next = table.entries.get(name);
      if (next === undefined) {
        const created: TomlTable = { type: 'table', entries: new Map(), kind: 'implicit', line, column };
        table.entries.set(name, created);
        table = created;
      } else if (next.type === 'table' && next.kind !== 'inline') {
        table = next;
      } else if (next.type === 'array' && next.ofTables) {
        table = next.items[next.items.length - 1] as TomlTable;
      } else {
        this.fail(`cannot add a table to ${pathText(seen)}: it is ${definedAs(next)}`, k);
      }
    }
    return table;
  }

  /**
   * `key = value` into `table`. Dotted keys create `dotted` tables; inside an inline table (`openInline` given)
   * they create `inline` tables that stay open, through `openInline`, only until that inline table closes.
   */
  private keyValue(table: TomlTable, tablePath: string[], kv: AST.TOMLKeyValue, openInline?: Set<TomlTable>): void {
    const { line, column } = pos(kv);
    const keys = kv.key.keys;
    const path = [...tablePath];
    let target = table;
    for (const k of keys.slice(0, -1)) {
      const name = this.name(k);
      path.push(name);
      const next = target.entries.get(name);
      if (next === undefined) {
        const kind: TomlTableKind = openInline ? 'inline' : 'dotted';
        const created: TomlTable = { type: 'table', entries: new Map(), kind, line, column };
        target.entries.set(name, created);
        openInline?.add(created);
        target = created;
      } else if (next.type === 'table' && (openInline ? openInline.has(next) : next.kind === 'dotted')) {
        target = next;
      } else {
        this.fail(`cannot add keys to ${pathText(path)} with a dotted key: it is ${definedAs(next)}`, k);
      }
    }
    const last = keys[keys.length - 1] as KeyPart;
    const name = this.name(last);
    path.push(name);
    if (target.entries.has(name)) this.fail(`duplicate key ${pathText(path)}`, last);
    target.entries.set(name, this.value(kv.value));
  }

  private value(v: AST.TOMLContentNode): TomlNode {
    const at = pos(v);
    if (v.type === 'TOMLArray') return { type: 'array', items: v.elements.map((e) => this.value(e)), ofTables: false, ...at } satisfies TomlArray;
    if (v.type === 'TOMLInlineTable') {
      const table: TomlTable = { type: 'table', entries: new Map(), kind: 'inline', ...at };
      const openInline = new Set<TomlTable>();
      for (const kv of v.body) this.keyValue(table, [], kv, openInline);
      return table;
    }
    switch (v.kind) {
      case 'string':
        return { type: 'string', value: v.value, ...at };
      case 'boolean':
        return { type: 'boolean', value: v.value, ...at };
      case 'float':
        return { type: 'float', value: v.value, ...at };
      case 'integer':
        if (v.bigint < INT_MIN || v.bigint > INT_MAX) {
          this.fail(`integer ${this.text.slice(v.range[0], v.range[1])} does not fit in 64 bits (expected ${INT_MIN.toString()} to ${INT_MAX.toString()})`, v);
        }
        return { type: 'integer', value: v.bigint, ...at };
      default:
        return { ...dateTime(v), ...at };
    }
  }
}

const DATETIME_KINDS = {
  'offset-date-time': 'offset-datetime',
  'local-date-time': 'local-datetime',
  'local-date': 'local-date',
  'local-time': 'local-time',
} as const;

/** The value as written with the date/time separator as `T` and `Z` upper case; epoch ms for offset date-times. */
function dateTime(v: AST.TOMLDateTimeValue): Omit<TomlDateTime, 'line' | 'column'> {
  const kind = DATETIME_KINDS[v.kind];
  const raw = v.datetime;
  if (kind === 'local-date' || kind === 'local-time') return { type: 'datetime', kind, text: raw };
  let text = `${raw.slice(0, 10)}T${raw.slice(11)}`;
  if (text.endsWith('z')) text = `${text.slice(0, -1)}Z`;
  if (kind === 'local-datetime') return { type: 'datetime', kind, text };
  // Date.parse takes at most millisecond precision (TOML allows more: truncated) and no leap second (read as :59).
  const m = /^(.{17})(\d\d)(\.\d+)?(.*)$/.exec(text) as RegExpExecArray;
  const seconds = m[2] === '60' ? '59' : (m[2] as string);
  const epochMs = Date.parse(`${m[1] as string}${seconds}${m[3] === undefined ? '' : m[3].slice(0, 4)}${m[4] as string}`);
  return { type: 'datetime', kind, text, epochMs };
}

function pos(node: Located): { line: number; column: number } {
  return { line: node.loc.start.line, column: node.loc.start.column + 1 };
}

function pathText(path: string[]): string {
  return path.map(formatKey).join('.');
}

function definedAs(node: TomlNode): string {
  if (node.type === 'table') {
    if (node.kind === 'inline') return 'an inline table';
    if (node.kind === 'dotted') return 'a table defined by dotted keys';
    return 'a table defined above';
  }
  if (node.type === 'array') return node.ofTables ? 'an array of tables' : 'a static array';
  return node.type === 'integer' ? 'an integer value' : `a ${node.type} value`;
}
