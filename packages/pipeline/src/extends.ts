// `extends` and `!reference`, in GitLab's order: extends first (a reverse deep merge: mappings merge key by
// key, anything else — lists included — is replaced), then `!reference` tags against the extended config.
import type { Diagnostics } from './diagnostics.js';
import { keyPos, readStringList, sub } from './node-read.js';
import type { LMap, LNode } from './yaml-tree.js';

/** GitLab supports up to eleven levels of inheritance. */
const MAX_EXTENDS_DEPTH = 11;
/** Nested `!reference` tags are followed this deep. */
const MAX_REFERENCE_DEPTH = 10;

/** Merges `over` onto `base`: mappings merge recursively, every other value of `over` replaces. */
export function deepMerge(base: LNode, over: LNode): LNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const out: LMap = { ...over, entries: new Map(base.entries), keyLines: new Map(base.keyLines) };
  for (const [k, v] of over.entries) {
    const b = out.entries.get(k);
    out.entries.set(k, b === undefined ? v : deepMerge(b, v));
    out.keyLines.set(k, over.keyLines.get(k) ?? over.line);
  }
  return out;
}

/**
 * Resolves `extends` of every job (hidden ones included) and returns the merged jobs by name. Reports unknown
 * parents, cycles and too deep chains.
 */
export function resolveExtends(jobs: ReadonlyMap<string, LMap>, d: Diagnostics): Map<string, LMap> {
  const done = new Map<string, LMap>();
  const visit = (name: string, chain: string[]): LMap => {
    const cached = done.get(name);
    if (cached !== undefined) return cached;
    const job = jobs.get(name)!;
    const ext = job.entries.get('extends');
    if (ext === undefined) {
      done.set(name, job);
      return job;
    }
    const at = keyPos(job, 'extends');
    const parents = readStringList(ext, sub(name, 'extends'), d, { single: true }) ?? [];
    let base: LNode | undefined;
    for (const p of parents) {
      if (!jobs.has(p)) {
        d.error(ext, sub(name, 'extends'), `unknown job ${JSON.stringify(p)} (extends names a job or hidden job)`);
        continue;
      }
      if (chain.includes(p)) {
        d.error(at, sub(name, 'extends'), `circular dependency detected in extends: ${[...chain, p].join(' → ')}`);
        continue;
      }
      if (chain.length >= MAX_EXTENDS_DEPTH) {
        d.error(at, sub(name, 'extends'), `nesting too deep in extends (more than ${MAX_EXTENDS_DEPTH} levels)`);
        continue;
      }
      const parent = visit(p, [...chain, p]);
      base = base === undefined ? parent : deepMerge(base, parent);
    }
    const merged = base === undefined ? job : (deepMerge(base, job) as LMap);
    done.set(name, merged);
    return merged;
  };
  for (const name of jobs.keys()) visit(name, [name]);
  return done;
}

/** Replaces every `!reference [key, …]` in `n` by the value found at that path of `root`. */
export function resolveReferences(n: LNode, root: LMap, d: Diagnostics, depth = 0): LNode {
  switch (n.kind) {
    case 'scalar':
      return n;
    case 'seq':
      return { ...n, items: n.items.map((i) => resolveReferences(i, root, d, depth)) };
    case 'map': {
      const entries = new Map<string, LNode>();
      for (const [k, v] of n.entries) entries.set(k, resolveReferences(v, root, d, depth));
      return { ...n, entries };
    }
    case 'ref': {
      const tag = `!reference [${n.path.join(', ')}]`;
      if (depth >= MAX_REFERENCE_DEPTH) {
        d.error(n, '', `${tag}: references nested too deep (more than ${MAX_REFERENCE_DEPTH} levels)`);
        return { kind: 'scalar', value: null, file: n.file, line: n.line, invalid: true };
      }
      let cur: LNode | undefined = root;
      for (const key of n.path) cur = cur?.kind === 'map' ? cur.entries.get(key) : undefined;
      if (cur === undefined) {
        d.error(n, '', `${tag} could not be found`);
        return { kind: 'scalar', value: null, file: n.file, line: n.line, invalid: true };
      }
      return resolveReferences(cur, root, d, depth + 1);
    }
  }
}
