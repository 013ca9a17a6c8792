// `parallel: N` (jobs `name 1/N` … `name N/N`) and `parallel: matrix` (jobs `name: [v1, v2]`, one per
// combination, each with its variables), named as GitLab names them.
import type { Diagnostics } from './diagnostics.js';
import { get, keyPos, readInt, readMap, sub } from './node-read.js';
import type { LNode } from './yaml-tree.js';

/** GitLab's limit for `parallel: N` and for the number of matrix combinations. */
export const MAX_PARALLEL = 200;

/** A matrix: a list of mappings of variable name → list of values. */
export type Matrix = Array<Array<[string, string[]]>>;

/** A parsed `parallel:`. */
export type ParallelSpec = { number: number } | { matrix: Matrix };

/** One instance of a parallel job. */
export interface JobInstance {
  name: string;
  nodeIndex?: number;
  nodeTotal: number;
  /** Matrix variables of this instance. */
  vars: Array<{ key: string; value: string }>;
}

function readValues(n: LNode, path: string, d: Diagnostics): string[] | undefined {
  const items = n.kind === 'seq' ? n.items : [n];
  const out: string[] = [];
  for (const [i, item] of items.entries()) {
    if (item.kind === 'scalar' && (typeof item.value === 'string' || typeof item.value === 'number')) out.push(String(item.value));
    else {
      d.error(item, n.kind === 'seq' ? sub(path, i) : path, 'matrix values must be strings or lists of strings');
      return undefined;
    }
  }
  if (out.length === 0) d.error(n, path, 'matrix values must not be empty');
  return out.length === 0 ? undefined : out;
}

/** Reads a matrix (a list of mappings). */
export function readMatrix(n: LNode, path: string, d: Diagnostics): Matrix | undefined {
  if (n.kind !== 'seq' || n.items.length === 0) {
    d.error(n, path, 'expected a non-empty list of mappings of variables to values');
    return undefined;
  }
  const out: Matrix = [];
  for (const [i, item] of n.items.entries()) {
    const m = readMap(item, sub(path, i), d);
    if (m === undefined) return undefined;
    const row: Array<[string, string[]]> = [];
    for (const [k, v] of m.entries) {
      if (!/^\w+$/.test(k)) d.error(keyPos(m, k), sub(sub(path, i), k), 'variable names can use only letters, digits and _');
      const values = readValues(v, sub(sub(path, i), k), d);
      if (values !== undefined) row.push([k, values]);
    }
    out.push(row);
  }
  return out;
}

/** Reads `parallel:` (1…200, or `{ matrix }`). */
export function readParallel(n: LNode, path: string, d: Diagnostics): ParallelSpec | undefined {
  if (n.kind !== 'map') {
    const number = readInt(n, path, d, 1, MAX_PARALLEL);
    return number === undefined ? undefined : { number };
  }
  for (const k of n.entries.keys()) if (k !== 'matrix') d.warn(keyPos(n, k), sub(path, k), 'unknown parallel key; ignored');
  const mn = get(n, 'matrix');
  if (mn === undefined) {
    d.error(n, path, 'expected a number or { matrix: [...] }');
    return undefined;
  }
  const matrix = readMatrix(mn, sub(path, 'matrix'), d);
  if (matrix === undefined) return undefined;
  const total = combinations(matrix).length;
  if (total > MAX_PARALLEL) {
    d.error(mn, sub(path, 'matrix'), `${total} combinations; at most ${MAX_PARALLEL} are allowed`);
    return undefined;
  }
  return { matrix };
}

/** Every combination of a matrix, in GitLab's order (rows in turn, cartesian product within a row). */
export function combinations(matrix: Matrix): Array<Array<{ key: string; value: string }>> {
  return matrix.flatMap((row) =>
    row.reduce<Array<Array<{ key: string; value: string }>>>(
      (acc, [key, values]) => acc.flatMap((combo) => values.map((value) => [...combo, { key, value }])),
      [[]],
    ),
  );
}

/** The name GitLab gives a matrix instance: `job: [v1, v2]`. */
export function matrixName(job: string, vars: ReadonlyArray<{ value: string }>): string {
  return `${job}: [${vars.map((v) => v.value).join(', ')}]`;
}

/** The instances of a job (one instance, named like the job, when it is not parallel). */
export function expandInstances(job: string, spec: ParallelSpec | undefined): JobInstance[] {
  if (spec === undefined) return [{ name: job, nodeTotal: 1, vars: [] }];
  if ('number' in spec) {
    return Array.from({ length: spec.number }, (_, i) => ({ name: `${job} ${i + 1}/${spec.number}`, nodeIndex: i + 1, nodeTotal: spec.number, vars: [] }));
  }
  const combos = combinations(spec.matrix);
  return combos.map((vars, i) => ({ name: matrixName(job, vars), nodeIndex: i + 1, nodeTotal: combos.length, vars }));
}
