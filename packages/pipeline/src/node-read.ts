// Typed reads of located YAML values. Each reader reports a wrong type to the Diagnostics with the file,
// line and key path, and returns undefined so that reading goes on and every error is found in one run.
import type { Diagnostics } from './diagnostics.js';
import { describe, type LMap, type LNode } from './yaml-tree.js';

/** Joins a key path: `build` + `artifacts` → `build.artifacts`. */
export function sub(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** The value node of `key`, or undefined. */
export function get(m: LMap, key: string): LNode | undefined {
  return m.entries.get(key);
}

/** A string; numbers are accepted and written in decimal. */
export function readString(n: LNode, path: string, d: Diagnostics): string | undefined {
  if (n.kind === 'scalar' && typeof n.value === 'string') return n.value;
  if (n.kind === 'scalar' && typeof n.value === 'number') return String(n.value);
  d.error(n, path, `expected a string, got ${describe(n)}`);
  return undefined;
}

/** A boolean. */
export function readBool(n: LNode, path: string, d: Diagnostics): boolean | undefined {
  if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value;
  d.error(n, path, `expected true or false, got ${describe(n)}`);
  return undefined;
}

/** An integer within [min, max]. */
export function readInt(n: LNode, path: string, d: Diagnostics, min: number, max: number): number | undefined {
  const v = n.kind === 'scalar' ? n.value : undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  d.error(n, path, `expected an integer from ${min} to ${max}, got ${n.kind === 'scalar' ? JSON.stringify(v) : describe(n)}`);
  return undefined;
}

/** One of the listed strings. */
export function readEnum<T extends string>(n: LNode, path: string, d: Diagnostics, allowed: readonly T[]): T | undefined {
  const v = n.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined;
  if (v !== undefined && (allowed as readonly string[]).includes(v)) return v as T;
  d.error(n, path, `expected one of ${allowed.join(', ')}, got ${v === undefined ? describe(n) : JSON.stringify(v)}`);
  return undefined;
}

/** A mapping. */
export function readMap(n: LNode, path: string, d: Diagnostics, what = 'a mapping'): LMap | undefined {
  if (n.kind === 'map') return n;
  d.error(n, path, `expected ${what}, got ${describe(n)}`);
  return undefined;
}

const MAX_NESTING = 10;

/**
 * A list of strings. Nested lists are flattened (GitLab allows 10 levels, which `!reference` inside lists
 * needs); with `single`, a lone string counts as a one-item list.
 */
export function readStringList(n: LNode, path: string, d: Diagnostics, opts: { single?: boolean } = {}): string[] | undefined {
  if (opts.single === true && n.kind === 'scalar' && (typeof n.value === 'string' || typeof n.value === 'number')) return [String(n.value)];
  if (n.kind !== 'seq') {
    d.error(n, path, `expected a list of strings${opts.single === true ? ' or a string' : ''}, got ${describe(n)}`);
    return undefined;
  }
  const out: string[] = [];
  const walk = (s: LNode, depth: number): boolean => {
    if (s.kind === 'seq' && depth < MAX_NESTING) return s.items.every((i) => walk(i, depth + 1));
    if (s.kind === 'scalar' && (typeof s.value === 'string' || typeof s.value === 'number')) {
      out.push(String(s.value));
      return true;
    }
    d.error(s, path, `expected a list of strings, found ${describe(s)}`);
    return false;
  };
  return walk(n, 0) ? out : undefined;
}

/** Items of a list, nested lists flattened (for lists of mappings such as `rules` built with `!reference`). */
export function flattenSeq(n: LNode, depth = 0): LNode[] {
  if (n.kind !== 'seq') return [n];
  if (depth >= MAX_NESTING) return n.items;
  return n.items.flatMap((i) => (i.kind === 'seq' ? flattenSeq(i, depth + 1) : [i]));
}

/** Warns once for each key of `m` that is not in `known`. */
export function warnUnknownKeys(m: LMap, path: string, known: ReadonlySet<string>, d: Diagnostics, what: string): void {
  for (const k of m.entries.keys()) {
    if (!known.has(k)) d.warn({ file: m.file, line: m.keyLines.get(k) ?? m.line }, sub(path, k), `unknown ${what} key; ignored`);
  }
}

/** Where a key of a map is, for errors about the key itself. */
export function keyPos(m: LMap, key: string): { file: string; line: number } {
  return { file: m.file, line: m.keyLines.get(key) ?? m.line };
}
