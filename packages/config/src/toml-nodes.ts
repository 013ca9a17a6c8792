/**
 * The TOML document model. Every value remembers the 1-based line and column where it starts, so the config
 * schema can say exactly where a bad value is. A key and its value always share a line in TOML, so a value's
 * line is also its key's line.
 */

/** How a table came to exist; decides whether a later header or dotted key may add to it (TOML 1.0 §Table). */
export type TomlTableKind =
  /** The document root. */
  | 'root'
  /** Created as a prefix of a `[a.b.c]` header; may still be defined once by its own header. */
  | 'implicit'
  /** Defined by its own `[header]` or as an element of `[[array]]`. */
  | 'header'
  /** Created by a dotted key (`a.b = 1`); may hold sub-tables from headers, never a header of its own. */
  | 'dotted'
  /** An inline table `{ … }` or anything inside one: closed once written. */
  | 'inline';

export type TomlDateTimeKind = 'offset-datetime' | 'local-datetime' | 'local-date' | 'local-time';

interface TomlBase {
  /** 1-based line of the value (or of the header that defined the table). */
  line: number;
  /** 1-based column, in UTF-16 code units. */
  column: number;
}

export interface TomlString extends TomlBase {
  type: 'string';
  value: string;
}

export interface TomlInteger extends TomlBase {
  type: 'integer';
  /** TOML integers are 64-bit; kept exact. */
  value: bigint;
}

export interface TomlFloat extends TomlBase {
  type: 'float';
  value: number;
}

export interface TomlBoolean extends TomlBase {
  type: 'boolean';
  value: boolean;
}

export interface TomlDateTime extends TomlBase {
  type: 'datetime';
  kind: TomlDateTimeKind;
  /** The value as written, with the date/time separator normalised to `T`. */
  text: string;
  /** Milliseconds since the epoch; only for `offset-datetime`. */
  epochMs?: number;
}

export interface TomlArray extends TomlBase {
  type: 'array';
  items: TomlNode[];
  /** True for an array of tables built by `[[header]]`s; false for a static `[ … ]` value. */
  ofTables: boolean;
}

export interface TomlTable extends TomlBase {
  type: 'table';
  entries: Map<string, TomlNode>;
  kind: TomlTableKind;
}

export type TomlNode = TomlString | TomlInteger | TomlFloat | TomlBoolean | TomlDateTime | TomlArray | TomlTable;

/** A short human description of a value for error messages: `string "10"`, `integer 3`, `table`. */
export function describeNode(node: TomlNode): string {
  switch (node.type) {
    case 'string': {
      const s = node.value.length > 40 ? `${node.value.slice(0, 37)}...` : node.value;
      return `string ${JSON.stringify(s)}`;
    }
    case 'integer':
      return `integer ${node.value.toString()}`;
    case 'float':
      return `float ${formatFloat(node.value)}`;
    case 'boolean':
      return `boolean ${String(node.value)}`;
    case 'datetime':
      return `${node.kind} ${node.text}`;
    case 'array':
      return node.ofTables ? 'array of tables' : 'array';
    case 'table':
      return 'table';
  }
}

function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/**
 * Converts a node to plain JSON-compatible data, the way GitLab Runner re-encodes `plugin_config` to JSON:
 * tables become objects, datetimes their text, integers numbers (exact within ±2^53).
 */
export function tomlToPlain(node: TomlNode): unknown {
  switch (node.type) {
    case 'string':
    case 'boolean':
      return node.value;
    case 'float':
      return node.value;
    case 'integer':
      return Number(node.value);
    case 'datetime':
      return node.text;
    case 'array':
      return node.items.map(tomlToPlain);
    case 'table':
      // fromEntries defines own properties, so a key named `__proto__` stays data.
      return Object.fromEntries([...node.entries].map(([k, v]) => [k, tomlToPlain(v)]));
  }
}

/** A dotted-path segment for `key`: bare when TOML would allow it bare, quoted otherwise. */
export function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}
