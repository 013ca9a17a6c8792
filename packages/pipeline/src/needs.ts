// `needs:` and `dependencies:`: reading, resolution to job instances (a parallel job is needed as all of its
// instances, or the ones a `parallel: matrix` filter selects), validation, and cycle detection.
import type { Diagnostics } from './diagnostics.js';
import { get, keyPos, readBool, readMap, readString, sub } from './node-read.js';
import { combinations, readMatrix, type Matrix } from './parallel.js';
import type { JobNeed, SourcePos } from './types.js';
import type { LNode } from './yaml-tree.js';

/** A `needs` entry as written. */
export interface NeedRaw {
  job: string;
  artifacts: boolean;
  optional: boolean;
  matrix?: Matrix;
  at: SourcePos;
}

const NEED_KEYS = new Set(['job', 'artifacts', 'optional', 'parallel']);

function readNeed(n: LNode, path: string, d: Diagnostics): NeedRaw | undefined {
  const at = { file: n.file, line: n.line };
  if (n.kind !== 'map') {
    const job = readString(n, path, d);
    return job === undefined ? undefined : { job, artifacts: true, optional: false, at };
  }
  if (n.entries.has('pipeline') || n.entries.has('project')) {
    d.error(n, path, 'needs from other pipelines or projects (pipeline:, project:) are not supported by a local run');
    return undefined;
  }
  const jobNode = get(n, 'job');
  const job = jobNode === undefined ? undefined : readString(jobNode, sub(path, 'job'), d);
  if (job === undefined) {
    if (jobNode === undefined) d.error(n, path, 'a needs entry needs job:');
    return undefined;
  }
  const need: NeedRaw = { job, artifacts: true, optional: false, at };
  for (const [k, v] of n.entries) {
    const p = sub(path, k);
    if (!NEED_KEYS.has(k)) d.warn(keyPos(n, k), p, 'unknown needs key; ignored');
    else if (k === 'artifacts') need.artifacts = readBool(v, p, d) ?? true;
    else if (k === 'optional') need.optional = readBool(v, p, d) ?? false;
    else if (k === 'parallel') {
      const m = readMap(v, p, d);
      const mn = m === undefined ? undefined : get(m, 'matrix');
      if (m !== undefined && mn === undefined) d.error(v, p, 'expected { matrix: [...] }');
      if (mn !== undefined) need.matrix = readMatrix(mn, sub(p, 'matrix'), d);
    }
  }
  return need;
}

/** Reads `needs:` (a list of job names or `{ job, artifacts, optional, parallel: { matrix } }`). */
export function readNeeds(n: LNode, path: string, d: Diagnostics): NeedRaw[] {
  if (n.kind !== 'seq') {
    d.error(n, path, 'expected a list of jobs');
    return [];
  }
  const flat = n.items.flatMap((i) => (i.kind === 'seq' ? i.items : [i]));
  return flat.flatMap((item, i) => readNeed(item, sub(path, i), d) ?? []);
}

/** A job instance that can be needed. */
export interface NeedTarget {
  name: string;
  baseName: string;
  stage: string;
  stageIndex: number;
  /** Matrix variables of the instance. */
  matrix: ReadonlyMap<string, string>;
}

/** What needs and dependencies are resolved against. */
export interface NeedIndex {
  /** Instances in the pipeline, by job key. */
  instances: ReadonlyMap<string, NeedTarget[]>;
  /** Job keys defined in the file but not in the pipeline, with the reason. */
  excluded: ReadonlyMap<string, string>;
  /** Hidden job keys. */
  hidden: ReadonlySet<string>;
}

/** `$[[ matrix.NAME ]]` in a needs matrix takes the needing instance's own matrix value. */
function interpolate(value: string, own: ReadonlyMap<string, string>): string {
  return value.replace(/\$\[\[\s*matrix\.(\w+)\s*\]\]/g, (m, k: string) => own.get(k) ?? m);
}

function selectByMatrix(targets: NeedTarget[], matrix: Matrix, own: ReadonlyMap<string, string>): NeedTarget[] {
  const wanted = combinations(matrix).map((combo) => combo.map((c) => ({ key: c.key, value: interpolate(c.value, own) })));
  return targets.filter((t) => wanted.some((combo) => combo.length === t.matrix.size && combo.every((c) => t.matrix.get(c.key) === c.value)));
}

/** Finds the instances a name refers to, or reports why it cannot. `undefined` means: drop silently. */
function lookup(
  name: string,
  self: NeedTarget,
  at: SourcePos,
  path: string,
  optional: boolean,
  idx: NeedIndex,
  d: Diagnostics,
): NeedTarget[] | undefined {
  const targets = idx.instances.get(name);
  if (targets !== undefined) return targets;
  if (idx.hidden.has(name)) d.error(at, path, `${JSON.stringify(name)} is a hidden job; hidden jobs do not run`);
  else if (idx.excluded.has(name)) {
    if (optional) return undefined;
    d.error(at, path, `${JSON.stringify(self.name)} needs ${JSON.stringify(name)}, but it is not in the pipeline (${idx.excluded.get(name)}); mark the need optional: true if that is expected`);
  } else d.error(at, path, `unknown job ${JSON.stringify(name)}`);
  return [];
}

/** Resolves a job instance's needs to instance names; reports unknown, excluded and later-stage jobs. */
export function resolveNeeds(self: NeedTarget, needs: readonly NeedRaw[], idx: NeedIndex, d: Diagnostics): JobNeed[] {
  const out: JobNeed[] = [];
  for (const [i, need] of needs.entries()) {
    const path = sub(sub(self.baseName, 'needs'), i);
    let targets = lookup(need.job, self, need.at, path, need.optional, idx, d);
    if (targets === undefined) continue;
    if (need.matrix !== undefined) {
      targets = selectByMatrix(targets, need.matrix, self.matrix);
      if (targets.length === 0) d.error(need.at, path, `no instance of ${JSON.stringify(need.job)} matches the matrix`);
    }
    for (const t of targets) {
      if (t.stageIndex > self.stageIndex) {
        d.error(need.at, path, `${JSON.stringify(t.name)} is in stage ${t.stage}, after stage ${self.stage}; needs can name jobs of the same or earlier stages`);
        continue;
      }
      if (!out.some((o) => o.name === t.name)) out.push({ name: t.name, artifacts: need.artifacts, optional: need.optional });
    }
  }
  return out;
}

/** Resolves `dependencies:` to instance names (jobs of earlier stages; when `needs` is set, among the needs). */
export function resolveDependencies(
  self: NeedTarget,
  deps: readonly string[],
  at: SourcePos,
  needs: readonly NeedRaw[] | undefined,
  idx: NeedIndex,
  d: Diagnostics,
): string[] {
  const out: string[] = [];
  const path = sub(self.baseName, 'dependencies');
  for (const name of deps) {
    if (idx.excluded.has(name)) {
      d.warn(at, path, `${JSON.stringify(name)} is not in the pipeline (${idx.excluded.get(name)}); its artifacts are not downloaded`);
      continue;
    }
    const targets = lookup(name, self, at, path, false, idx, d) ?? [];
    if (needs !== undefined && targets.length > 0 && !needs.some((n) => n.job === name)) {
      d.error(at, path, `${JSON.stringify(name)} must also be listed in needs`);
      continue;
    }
    for (const t of targets) {
      if (needs === undefined && t.stageIndex >= self.stageIndex) {
        d.error(at, path, `${JSON.stringify(t.name)} is not in an earlier stage than ${self.stage}`);
        break;
      }
      if (!out.includes(t.name)) out.push(t.name);
    }
  }
  return out;
}

/** Finds one cycle in the needs graph (instance name → needed names), as a path `a → b → a`. */
export function findNeedsCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c !== undefined) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c !== undefined) return c;
  }
  return undefined;
}
