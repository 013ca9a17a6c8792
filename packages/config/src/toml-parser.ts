import { Cursor } from './toml-cursor.js';
import { formatKey, type TomlArray, type TomlNode, type TomlTable, type TomlTableKind } from './toml-nodes.js';
import { readScalar } from './toml-scalars.js';
import { readString } from './toml-strings.js';

export { TomlSyntaxError } from './toml-cursor.js';

/**
 * Parses a TOML 1.0 document into a root table whose every node carries its line and column.
 * Throws `TomlSyntaxError` (code `invalid_argument`) at the first error, with the 1-based line and column.
 */
export function parseToml(src: string): TomlTable {
  return new Parser(src.startsWith('\uFEFF') ? src.slice(1) : src).document();
}

interface KeyPart {
  name: string;
  pos: number;
}

class Parser {
  private readonly c: Cursor;
  private readonly root: TomlTable = { type: 'table', entries: new Map(), kind: 'root', line: 1, column: 1 };

  constructor(src: string) {
    this.c = new Cursor(src);
  }

  document(): TomlTable {
    const c = this.c;
    let current = this.root;
    let currentPath: string[] = [];
    while (!c.eof()) {
      c.skipWs();
      if (c.peek() === '#') c.skipComment();
      if (c.consumeNewline() || c.eof()) continue;
      if (c.peek() === '[') {
        const header = this.header();
        current = header.table;
        currentPath = header.path;
        c.expectLineEnd('a table header');
      } else {
        this.keyValue(current, currentPath);
        c.expectLineEnd('a value');
      }
    }
    return this.root;
  }

  private header(): { table: TomlTable; path: string[] } {
    const c = this.c;
    const at = c.pos;
    const { line, column } = c.loc();
    const isArray = c.startsWith('[[');
    c.pos += isArray ? 2 : 1;
    c.skipWs();
    const keys = this.key();
    c.skipWs();
    if (isArray ? !c.startsWith(']]') : c.peek() !== ']') c.fail(`expected ${isArray ? ']]' : ']'} to close the table header`);
    c.pos += isArray ? 2 : 1;
    const path = keys.map((k) => k.name);
    const parent = this.walkHeaderPrefix(keys.slice(0, -1), line, column);
    const last = keys[keys.length - 1] as KeyPart;
    const existing = parent.entries.get(last.name);
    const where = pathText(path);
    if (isArray) {
      const element: TomlTable = { type: 'table', entries: new Map(), kind: 'header', line, column };
      if (existing === undefined) {
        parent.entries.set(last.name, { type: 'array', items: [element], ofTables: true, line, column });
      } else if (existing.type === 'array' && existing.ofTables) {
        existing.items.push(element);
      } else {
        c.fail(`cannot define [[${where}]]: ${where} is already ${definedAs(existing)}`, at);
      }
      return { table: element, path };
    }
    if (existing === undefined) {
      const table: TomlTable = { type: 'table', entries: new Map(), kind: 'header', line, column };
      parent.entries.set(last.name, table);
      return { table, path };
    }
    if (existing.type === 'table' && existing.kind === 'implicit') {
      existing.kind = 'header';
      existing.line = line;
      existing.column = column;
      return { table: existing, path };
    }
    return c.fail(`cannot define [${where}]: ${where} is already ${definedAs(existing)}`, at);
  }

  /** Walks the prefix of a header, creating implicit tables and entering the last element of arrays of tables. */
  private walkHeaderPrefix(keys: KeyPart[], line: number, column: number): TomlTable {
    let table = this.root;
    const seen: string[] = [];
    for (const k of keys) {
      seen.push(k.name);
      const next = table.entries.get(k.name);
      if (next === undefined) {
        const created: TomlTable = { type: 'table', entries: new Map(), kind: 'implicit', line, column };
        table.entries.set(k.name, created);
        table = created;
      } else if (next.type === 'table' && next.kind !== 'inline') {
        table = next;
      } else if (next.type === 'array' && next.ofTables) {
        table = next.items[next.items.length - 1] as TomlTable;
      } else {
        this.c.fail(`cannot add a table to ${pathText(seen)}: it is ${definedAs(next)}`, k.pos);
      }
    }
    return table;
  }

  /** A possibly dotted key: `a`, `"quoted key"`, `'literal'`, `a.b . c`. */
  private key(): KeyPart[] {
    const c = this.c;
    const parts: KeyPart[] = [];
    for (;;) {
      c.skipWs();
      const pos = c.pos;
      let name: string;
      if (c.peek() === '"' || c.peek() === "'") {
        if (c.startsWith('"""') || c.startsWith("'''")) c.fail('a key cannot be a multi-line string');
        name = readString(c);
      } else {
        const start = c.pos;
        while (/[A-Za-z0-9_-]/.test(c.peek())) c.pos++;
        if (c.pos === start) c.fail(`expected a key, found ${c.here()}`);
        name = c.src.slice(start, c.pos);
      }
      parts.push({ name, pos });
      c.skipWs();
      if (c.peek() !== '.') return parts;
      c.pos++;
    }
  }

  /**
   * `key = value` into `table`. Dotted keys create `dotted` tables; inside an inline table (`openInline` given)
   * they create `inline` tables that stay open, through `openInline`, only until that inline table closes.
   */
  private keyValue(table: TomlTable, tablePath: string[], openInline?: Set<TomlTable>): void {
    const c = this.c;
    const { line, column } = c.loc();
    const keys = this.key();
    if (c.peek() !== '=') c.fail(`expected "=" after the key, found ${c.here()}`);
    c.pos++;
    c.skipWs();
    const path = [...tablePath];
    let target = table;
    for (const k of keys.slice(0, -1)) {
      path.push(k.name);
      const next = target.entries.get(k.name);
      if (next === undefined) {
        const kind: TomlTableKind = openInline ? 'inline' : 'dotted';
        const created: TomlTable = { type: 'table', entries: new Map(), kind, line, column };
        target.entries.set(k.name, created);
        openInline?.add(created);
        target = created;
      } else if (next.type === 'table' && (openInline ? openInline.has(next) : next.kind === 'dotted')) {
        target = next;
      } else {
        c.fail(`cannot add keys to ${pathText(path)} with a dotted key: it is ${definedAs(next)}`, k.pos);
      }
    }
    const last = keys[keys.length - 1] as KeyPart;
    path.push(last.name);
    if (target.entries.has(last.name)) c.fail(`duplicate key ${pathText(path)}`, last.pos);
    target.entries.set(last.name, this.value());
  }

  private value(): TomlNode {
    const c = this.c;
    const { line, column } = c.loc();
    const ch = c.peek();
    if (ch === '"' || ch === "'") return { type: 'string', value: readString(c), line, column };
    if (ch === '[') return this.array();
    if (ch === '{') return this.inlineTable();
    return readScalar(c);
  }

  private array(): TomlArray {
    const c = this.c;
    const { line, column } = c.loc();
    const open = c.pos;
    c.pos++;
    const items: TomlNode[] = [];
    for (;;) {
      c.skipBlank();
      if (c.peek() === ']') break;
      if (c.eof()) c.fail('unterminated array', open);
      items.push(this.value());
      c.skipBlank();
      if (c.peek() === ',') {
        c.pos++;
        continue;
      }
      if (c.peek() !== ']') c.fail(`expected "," or "]" in array, found ${c.here()}`);
    }
    c.pos++;
    return { type: 'array', items, ofTables: false, line, column };
  }

  private inlineTable(): TomlTable {
    const c = this.c;
    const { line, column } = c.loc();
    c.pos++;
    const table: TomlTable = { type: 'table', entries: new Map(), kind: 'inline', line, column };
    const openInline = new Set<TomlTable>();
    c.skipWs();
    if (c.peek() === '}') {
      c.pos++;
      return table;
    }
    for (;;) {
      c.skipWs();
      if (c.atNewline() || c.eof()) c.fail('an inline table must be on one line');
      this.keyValue(table, [], openInline);
      c.skipWs();
      if (c.peek() === ',') {
        const comma = c.pos++;
        c.skipWs();
        if (c.peek() === '}') c.fail('trailing comma in inline table', comma);
        continue;
      }
      if (c.peek() === '}') {
        c.pos++;
        return table;
      }
      c.fail(`expected "," or "}" in inline table, found ${c.here()}`);
    }
  }
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
