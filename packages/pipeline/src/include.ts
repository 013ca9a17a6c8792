// `include: local` (a path or glob in the project, nested includes followed, duplicates ignored). Included
// files are deep-merged in order and the including file is merged last, so its keys win, as in GitLab.
// Remote, template, project and component includes need GitLab and are reported as unsupported.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostics } from './diagnostics.js';
import type { ExprVariables } from './expression.js';
import { deepMerge } from './extends.js';
import { fnmatchRegExp as globToRegExp, isGlob } from '@fleetrunner/executor';
import { get, keyPos, readString, sub } from './node-read.js';
import { firstMatch, readRules } from './rules.js';
import { emptyMap, parseYaml, type LMap, type LNode } from './yaml-tree.js';

/** GitLab follows up to 100 nested includes; far more than a local project needs. */
const MAX_INCLUDE_DEPTH = 100;
const UNSUPPORTED = ['remote', 'template', 'project', 'component'];

/** What includes are resolved with. */
export interface IncludeContext {
  projectDir: string;
  file: string;
  /** Variables visible to `include: rules` (predefined and user variables). */
  vars: ExprVariables;
  files: () => Promise<readonly string[]>;
  signal?: AbortSignal;
}

interface Entry {
  local: string;
  node: LNode;
}

/** The local paths an `include:` value names (after `rules:`), reporting unsupported forms. */
async function entries(n: LNode, ctx: IncludeContext, d: Diagnostics): Promise<Entry[]> {
  const items = n.kind === 'seq' ? n.items : [n];
  const out: Entry[] = [];
  for (const [i, item] of items.entries()) {
    const path = n.kind === 'seq' ? sub('include', i) : 'include';
    if (item.kind !== 'map') {
      const s = readString(item, path, d);
      if (s === undefined) continue;
      if (/^https?:\/\//.test(s)) d.error(item, path, 'remote includes are not supported by a local run');
      else out.push({ local: s, node: item });
      continue;
    }
    const kind = UNSUPPORTED.find((k) => item.entries.has(k));
    if (kind !== undefined) {
      d.error(keyPos(item, kind), sub(path, kind), `${kind} includes are not supported by a local run`);
      continue;
    }
    const rulesNode = get(item, 'rules');
    if (rulesNode !== undefined) {
      const rules = readRules(rulesNode, sub(path, 'rules'), d, { workflow: false });
      const files = rules.some((r) => r.exists !== undefined) ? await ctx.files() : [];
      const rule = firstMatch(rules, { vars: ctx.vars, files });
      if (rule === undefined || rule.when === 'never') continue;
    }
    const local = get(item, 'local');
    const s = local === undefined ? undefined : readString(local, sub(path, 'local'), d);
    if (s !== undefined) out.push({ local: s, node: local! });
    else if (local === undefined) d.error(item, path, 'expected local: (or a path)');
  }
  return out;
}

async function expand(e: Entry, ctx: IncludeContext, d: Diagnostics): Promise<string[]> {
  const clean = e.local.replace(/^\.?\/+/, '');
  if (!/\.ya?ml$/.test(clean)) {
    d.error(e.node, 'include', `${JSON.stringify(e.local)}: included files must end in .yml or .yaml`);
    return [];
  }
  if (!isGlob(clean)) return [clean];
  const re = globToRegExp(clean);
  return (await ctx.files()).filter((f) => re.test(f)).sort();
}

async function load(root: LNode, ctx: IncludeContext, d: Diagnostics, seen: Set<string>, depth: number): Promise<LNode> {
  if (root.kind !== 'map' || !root.entries.has('include')) return root;
  const incNode = root.entries.get('include')!;
  const main: LMap = { ...root, entries: new Map(root.entries), keyLines: new Map(root.keyLines) };
  main.entries.delete('include');
  if (depth >= MAX_INCLUDE_DEPTH) {
    d.error(incNode, 'include', `more than ${MAX_INCLUDE_DEPTH} nested includes`);
    return main;
  }
  let acc: LNode = emptyMap(root);
  for (const e of await entries(incNode, ctx, d)) {
    for (const rel of await expand(e, ctx, d)) {
      if (seen.has(rel)) continue;
      seen.add(rel);
      ctx.signal?.throwIfAborted();
      const text = await readFile(join(ctx.projectDir, rel), 'utf8').catch(() => undefined);
      if (text === undefined) {
        d.error(e.node, 'include', `local file ${JSON.stringify(rel)} does not exist`);
        continue;
      }
      const parsed = parseYaml(text, rel, d);
      if (parsed === undefined) continue;
      if (parsed.kind !== 'map') {
        d.error(parsed, '', 'an included file must be a mapping of jobs and global keywords');
        continue;
      }
      acc = deepMerge(acc, await load(parsed, ctx, d, seen, depth + 1));
    }
  }
  return deepMerge(acc, main);
}

/** Returns `root` with its `include:` files merged in (recursively). */
export function mergeIncludes(root: LNode, ctx: IncludeContext, d: Diagnostics): Promise<LNode> {
  return load(root, ctx, d, new Set(), 0);
}
