// `variables:` blocks, the precedence of variable layers and `$VAR` expansion for rule evaluation.
import type { Diagnostics } from './diagnostics.js';
import { keyPos, readBool, readMap, readString, readStringList, sub } from './node-read.js';
import type { ExprVariables } from './expression.js';
import type { JobVariable } from './types.js';
import type { LNode } from './yaml-tree.js';

/** A variable as written in YAML. */
export interface VarDef {
  key: string;
  value: string;
  /** `expand: false`. */
  raw: boolean;
}

const NAME = /^\w+$/;

/**
 * Reads a `variables:` mapping. Values are strings (numbers are written in decimal) or
 * `{ value, description, expand, options }` (`description` and `options` only at the top level).
 */
export function readVariables(n: LNode, path: string, d: Diagnostics, opts: { global: boolean }): VarDef[] {
  const m = readMap(n, path, d, 'a mapping of variable names to values');
  if (m === undefined) return [];
  const out: VarDef[] = [];
  for (const [key, v] of m.entries) {
    const p = sub(path, key);
    if (!NAME.test(key)) {
      d.error(keyPos(m, key), p, 'variable names can use only letters, digits and _');
      continue;
    }
    const def = readOne(v, p, d, opts.global);
    if (def !== undefined) out.push({ key, ...def });
  }
  return out;
}

function readOne(v: LNode, p: string, d: Diagnostics, global: boolean): Omit<VarDef, 'key'> | undefined {
  if (v.kind === 'scalar' && v.value === null) return { value: '', raw: false };
  if (v.kind === 'scalar' && typeof v.value === 'boolean') {
    d.error(v, p, `expected a string, got boolean; quote it: '${String(v.value)}'`);
    return undefined;
  }
  if (v.kind !== 'map') {
    const value = readString(v, p, d);
    return value === undefined ? undefined : { value, raw: false };
  }
  let value = '';
  let raw = false;
  let options: string[] | undefined;
  for (const [k, x] of v.entries) {
    const kp = sub(p, k);
    if (k === 'value') value = x.kind === 'scalar' && x.value === null ? '' : (readString(x, kp, d) ?? '');
    else if (k === 'expand') raw = readBool(x, kp, d) === false;
    else if (k === 'description' && global) readString(x, kp, d);
    else if (k === 'options' && global) options = readStringList(x, kp, d);
    else d.warn(keyPos(v, k), kp, `unknown variable key${global ? '' : ' (description and options are only allowed for global variables)'}; ignored`);
  }
  if (options !== undefined && !options.includes(value)) d.error(v, sub(p, 'value'), `must be one of the options: ${options.join(', ')}`);
  return { value, raw };
}

/** One layer of variables, lowest precedence first when passed to {@link mergeLayers}. */
export interface VarLayer {
  vars: ReadonlyArray<VarDef | { key: string; value: string; raw?: boolean }>;
  public: boolean;
}

/**
 * Merges layers into one payload list: one entry per key, at the position of its first definition, with the
 * value and flags of the layer with the highest precedence (the last one).
 */
export function mergeLayers(layers: readonly VarLayer[]): JobVariable[] {
  const byKey = new Map<string, JobVariable>();
  for (const layer of layers) {
    for (const v of layer.vars) {
      const entry: JobVariable = { key: v.key, value: v.value, public: layer.public, file: false, masked: false, raw: v.raw ?? false };
      const prev = byKey.get(v.key);
      if (prev === undefined) byKey.set(v.key, entry);
      else Object.assign(prev, entry);
    }
  }
  return [...byKey.values()];
}

const MAX_EXPANSION_DEPTH = 10;
const REF = /\$(?:\{(\w+)\}|(\w+))/g;

/**
 * Variable values with `$VAR` / `${VAR}` references expanded (unknown names become empty, raw variables are
 * kept as they are), as GitLab expands variables before it evaluates rules. Values are expanded when first
 * asked for: rules look at a handful of variables out of dozens.
 */
export function expandedValues(vars: readonly JobVariable[]): ExprVariables {
  const src = new Map(vars.map((v) => [v.key, v] as const));
  const done = new Map<string, string>();
  const expand = (key: string, depth: number): string | undefined => {
    const cached = done.get(key);
    if (cached !== undefined) return cached;
    const v = src.get(key);
    if (v === undefined) return undefined;
    if (v.raw || depth >= MAX_EXPANSION_DEPTH || !v.value.includes('$')) return v.value;
    const value = v.value.replace(REF, (_m, a: string | undefined, b: string | undefined) => {
      const name = (a ?? b)!;
      return (name === key ? src.get(name)?.value : expand(name, depth + 1)) ?? '';
    });
    if (depth === 0) done.set(key, value);
    return value;
  };
  return { get: (name) => expand(name, 0) };
}

/** Expands `$VAR` / `${VAR}` in `text` with already expanded values (unknown names become empty). */
export function expandText(text: string, values: ExprVariables): string {
  return text.replace(REF, (_m, a: string | undefined, b: string | undefined) => values.get((a ?? b)!) ?? '');
}
