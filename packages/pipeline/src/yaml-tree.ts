// YAML text → a tree of plain values that remember their file and line. GitLab reads `.gitlab-ci.yml` with a
// YAML 1.1 parser (Psych), so 1.1 scalars apply (`yes` is true, `010` is 8) and `<<` merge keys work.
import { LineCounter, parseDocument, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Diagnostics } from './diagnostics.js';

interface Located {
  file: string;
  line: number;
}

/** A mapping; `keyLines` holds the line of each key. Insertion order is file order. */
export interface LMap extends Located {
  kind: 'map';
  entries: Map<string, LNode>;
  keyLines: Map<string, number>;
}
/** A sequence. */
export interface LSeq extends Located {
  kind: 'seq';
  items: LNode[];
}
/** A scalar: string, number, boolean or null. */
export interface LScalar extends Located {
  kind: 'scalar';
  value: string | number | boolean | null;
  /** A stand-in for a value that already has an error (a missing `!reference`): no second error about it. */
  invalid?: true;
}
/** A `!reference [job, key, …]` tag, resolved after `extends`. */
export interface LRef extends Located {
  kind: 'ref';
  path: string[];
}
/** A located YAML value. */
export type LNode = LMap | LSeq | LScalar | LRef;

/** Creates an empty map at a position. */
export function emptyMap(at: Located): LMap {
  return { kind: 'map', file: at.file, line: at.line, entries: new Map(), keyLines: new Map() };
}

const referenceTag = { tag: '!reference', collection: 'seq' as const, resolve: (v: unknown) => v };

/** Parses `text` (the content of `file`) into a located tree; syntax errors go to `diag`. */
export function parseYaml(text: string, file: string, diag: Diagnostics): LNode | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    merge: true,
    uniqueKeys: false,
    lineCounter: lines,
    customTags: [referenceTag],
    prettyErrors: false,
  });
  for (const e of doc.errors) diag.error({ file, line: lines.linePos(e.pos[0]).line }, '', `invalid YAML: ${firstLine(e.message)}`);
  if (doc.errors.length > 0) return undefined;
  const conv = new Converter(doc, file, lines, diag);
  return doc.contents === null ? undefined : conv.node(doc.contents as Node, 0);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

const MAX_ALIAS_DEPTH = 50;

class Converter {
  constructor(
    private readonly doc: Document,
    private readonly file: string,
    private readonly lines: LineCounter,
    private readonly diag: Diagnostics,
  ) {}

  line(n: { range?: [number, number, number] | null } | null | undefined, fallback = 1): number {
    const off = n?.range?.[0];
    return off === undefined ? fallback : this.lines.linePos(off).line;
  }

  node(n: Node | null, depth: number, fallbackLine = 1): LNode {
    const at = { file: this.file, line: this.line(n, fallbackLine) };
    if (n === null) return { kind: 'scalar', value: null, ...at };
    if (isAlias(n)) {
      const target = n.resolve(this.doc);
      if (target === undefined || depth > MAX_ALIAS_DEPTH) {
        this.diag.error(at, '', `unresolvable alias *${n.source}`);
        return { kind: 'scalar', value: null, ...at };
      }
      return this.node(target as Node, depth + 1, at.line);
    }
    if (isMap(n)) return this.map(n.items, at, depth);
    if (isSeq(n)) {
      const items = n.items.map((i) => this.node(i as Node, depth, at.line));
      if (n.tag === '!reference') return this.reference(items, at);
      return { kind: 'seq', items, ...at };
    }
    if (isScalar(n)) {
      if (n.tag === '!reference') this.diag.error(at, '', '!reference expects a sequence like [job, key]');
      return { kind: 'scalar', value: scalarValue(n.value), ...at };
    }
    this.diag.error(at, '', 'unsupported YAML node');
    return { kind: 'scalar', value: null, ...at };
  }

  reference(items: LNode[], at: Located): LNode {
    const path = items.map((i) => (i.kind === 'scalar' && typeof i.value === 'string' ? i.value : undefined));
    if (path.length === 0 || path.some((p) => p === undefined)) {
      this.diag.error(at, '', '!reference expects a non-empty sequence of strings');
      return { kind: 'scalar', value: null, ...at };
    }
    return { kind: 'ref', path: path as string[], ...at };
  }

  map(items: unknown[], at: Located, depth: number): LMap {
    const out = emptyMap(at);
    // Keys that came from a `<<` merge: an explicit key replaces them without a duplicate warning.
    const merged = new Set<string>();
    for (const p of items) {
      if (!isPair(p)) continue;
      const key = p.key as Node | null;
      const keyLine = this.line(key, at.line);
      if (isScalar(key) && (key.source === '<<' || typeof key.value === 'symbol')) {
        this.merge(out, merged, this.node(p.value as Node | null, depth, keyLine), keyLine);
        continue;
      }
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.diag.error({ file: this.file, line: keyLine }, '', 'mapping keys must be scalars');
        continue;
      }
      const name = String(key.value);
      if (out.entries.has(name) && !merged.has(name)) {
        this.diag.warn({ file: this.file, line: keyLine }, name, 'duplicate key; the last one wins');
      }
      out.entries.delete(name);
      merged.delete(name);
      const value = this.node(p.value as Node | null, depth, keyLine);
      // A block mapping or list is located at its key: `image:` rather than the first line inside it.
      if ((value.kind === 'map' || value.kind === 'seq') && value.line > keyLine) value.line = keyLine;
      out.entries.set(name, value);
      out.keyLines.set(name, keyLine);
    }
    return out;
  }

  /** `<<: *a` or `<<: [*a, *b]`: keys not set explicitly come from the sources, earlier sources first. */
  merge(into: LMap, merged: Set<string>, src: LNode, line: number): void {
    const sources = src.kind === 'seq' ? src.items : [src];
    for (const s of sources) {
      if (s.kind !== 'map') {
        this.diag.error({ file: this.file, line }, '<<', 'merge key expects a mapping or a list of mappings');
        continue;
      }
      for (const [k, v] of s.entries) {
        if (into.entries.has(k)) continue;
        into.entries.set(k, v);
        into.keyLines.set(k, s.keyLines.get(k) ?? line);
        merged.add(k);
      }
    }
  }
}

function scalarValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** A short human description of a node's type, for error messages. */
export function describe(n: LNode): string {
  if (n.kind === 'scalar') return n.value === null ? 'null' : typeof n.value;
  if (n.kind === 'ref') return '!reference';
  return n.kind === 'map' ? 'a mapping' : 'a list';
}
