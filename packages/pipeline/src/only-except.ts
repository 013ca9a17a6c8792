// The legacy `only:` / `except:` keywords. `only` includes the job when every given key has a matching
// entry; `except` excludes it when any key has one. A job with neither (and no `rules`) is `only: [branches,
// tags]`, as in GitLab.
import type { Diagnostics } from './diagnostics.js';
import { evaluateExpression, type Expr, type ExprVariables } from './expression.js';
import { keyPos, readStringList, sub } from './node-read.js';
import { readIf } from './rules.js';
import type { LNode } from './yaml-tree.js';

/** A parsed `only` or `except`. */
export interface RefPolicy {
  refs?: string[];
  variables?: Expr[];
  changes?: boolean;
  kubernetes?: boolean;
}

/** GitLab's default for jobs without rules, only and except. */
export const DEFAULT_ONLY: RefPolicy = { refs: ['branches', 'tags'] };

/** Reads `only:` / `except:` (a list of refs or `{ refs, variables, changes, kubernetes }`). */
export function readRefPolicy(n: LNode, path: string, d: Diagnostics): RefPolicy | undefined {
  if (n.kind !== 'map') {
    const refs = readStringList(n, path, d, { single: true });
    return refs === undefined ? undefined : { refs };
  }
  const out: RefPolicy = {};
  for (const [k, v] of n.entries) {
    const p = sub(path, k);
    if (k === 'refs') out.refs = readStringList(v, p, d, { single: true }) ?? [];
    else if (k === 'variables') {
      const list = v.kind === 'seq' ? v.items : [v];
      out.variables = list.flatMap((x, i) => readIf(x, sub(p, i), d)?.expr ?? []);
    } else if (k === 'changes') {
      out.changes = true;
      d.warn(keyPos(n, k), p, 'changes cannot be evaluated for a local run; it matches');
    } else if (k === 'kubernetes') out.kubernetes = true;
    else d.warn(keyPos(n, k), p, 'unknown key; ignored');
  }
  return out;
}

/** The facts a ref policy is checked against. */
export interface RefContext {
  branch?: string;
  tag?: string;
  refName: string;
  source: string;
  vars: ExprVariables;
}

const SOURCE_KEYWORDS: Record<string, string> = {
  api: 'api',
  chat: 'chat',
  external: 'external',
  external_pull_requests: 'external_pull_request_event',
  merge_requests: 'merge_request_event',
  pipelines: 'pipeline',
  pushes: 'push',
  schedules: 'schedule',
  triggers: 'trigger',
  web: 'web',
};

function refMatches(ref: string, c: RefContext): boolean {
  if (ref === 'branches') return c.tag === undefined && c.source !== 'merge_request_event';
  if (ref === 'tags') return c.tag !== undefined;
  const source = SOURCE_KEYWORDS[ref];
  if (source !== undefined) return c.source === source;
  const name = ref.includes('@') ? ref.slice(0, ref.indexOf('@')) : ref;
  const re = /^\/(.+)\/([a-z]*)$/.exec(name);
  if (re !== null) {
    try {
      return new RegExp(re[1]!, re[2]!.includes('i') ? 'i' : '').test(c.refName);
    } catch {
      return false;
    }
  }
  return name === c.refName;
}

/** Per key: does the policy have a matching entry? (undefined for keys it does not set) */
function keyResults(p: RefPolicy, c: RefContext): boolean[] {
  const out: boolean[] = [];
  if (p.refs !== undefined) out.push(p.refs.some((r) => refMatches(r, c)));
  if (p.variables !== undefined) out.push(p.variables.some((e) => evaluateExpression(e, c.vars)));
  if (p.changes === true) out.push(true);
  if (p.kubernetes === true) out.push(c.vars.get('CI_KUBERNETES_ACTIVE') !== undefined);
  return out;
}

/** True when `only` and `except` let the job into the pipeline. */
export function refPolicyAllows(only: RefPolicy | undefined, except: RefPolicy | undefined, c: RefContext): boolean {
  const o = keyResults(only ?? DEFAULT_ONLY, c);
  if (o.length > 0 && !o.every(Boolean)) return false;
  return except === undefined || !keyResults(except, c).some(Boolean);
}
