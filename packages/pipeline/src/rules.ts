// `rules:` of jobs and of `workflow:`. Rules are evaluated in order; the first whose clauses all hold decides.
// `if` uses the expression evaluator; `exists` globs the project's files; `changes` cannot be known for a
// local run and matches (as GitLab's `changes` does for pipelines without a push event), with a warning.
import type { Diagnostics } from './diagnostics.js';
import { evaluateExpression, parseExpression, type Expr, type ExprVariables } from './expression.js';
import { fnmatchRegExp as globToRegExp, isGlob } from '@fleetrunner/executor';
import { get, keyPos, readBool, readEnum, readMap, readString, readStringList, sub, flattenSeq } from './node-read.js';
import type { SourcePos } from './types.js';
import { expandText, readVariables, type VarDef } from './variables.js';
import type { LNode } from './yaml-tree.js';
import { toRunnerError } from '@fleetrunner/common';

/** A rule's `when`. */
export type RuleWhen = 'on_success' | 'on_failure' | 'always' | 'manual' | 'delayed' | 'never';

/** One parsed rule. */
export interface Rule {
  at: SourcePos;
  if?: { text: string; expr: Expr };
  exists?: string[];
  changes: boolean;
  when?: RuleWhen;
  allowFailure?: boolean;
  variables: VarDef[];
}

const JOB_RULE_KEYS = new Set(['if', 'changes', 'exists', 'when', 'allow_failure', 'variables', 'needs', 'interruptible', 'start_in']);
const WORKFLOW_RULE_KEYS = new Set(['if', 'changes', 'exists', 'when', 'variables', 'auto_cancel']);
const JOB_WHENS: readonly RuleWhen[] = ['on_success', 'on_failure', 'always', 'manual', 'delayed', 'never'];
const WORKFLOW_WHENS: readonly RuleWhen[] = ['always', 'never'];

/** Parses an `if:` expression, reporting syntax errors at the node. */
export function readIf(n: LNode, path: string, d: Diagnostics): { text: string; expr: Expr } | undefined {
  const text = readString(n, path, d);
  if (text === undefined) return undefined;
  try {
    return { text, expr: parseExpression(text) };
  } catch (err) {
    d.error(n, path, toRunnerError(err).message);
    return undefined;
  }
}

function readExists(n: LNode, path: string, d: Diagnostics): string[] | undefined {
  if (n.kind !== 'map') return readStringList(n, path, d, { single: true });
  for (const k of n.entries.keys()) if (k !== 'paths') d.warn(keyPos(n, k), sub(path, k), 'not supported for a local run; ignored');
  const paths = get(n, 'paths');
  return paths === undefined ? [] : readStringList(paths, sub(path, 'paths'), d, { single: true });
}

function readRule(n: LNode, path: string, d: Diagnostics, workflow: boolean): Rule | undefined {
  const m = readMap(n, path, d, 'a rule (a mapping with if, changes, exists, when…)');
  if (m === undefined) return undefined;
  const rule: Rule = { at: { file: m.file, line: m.line }, changes: false, variables: [] };
  const known = workflow ? WORKFLOW_RULE_KEYS : JOB_RULE_KEYS;
  for (const [k, v] of m.entries) {
    const p = sub(path, k);
    if (!known.has(k)) d.warn(keyPos(m, k), p, `unknown ${workflow ? 'workflow ' : ''}rule key; ignored`);
    else if (k === 'if') rule.if = readIf(v, p, d);
    else if (k === 'exists') rule.exists = readExists(v, p, d);
    else if (k === 'changes') {
      rule.changes = true;
      d.warn(keyPos(m, k), p, 'changes cannot be evaluated for a local run; the clause matches');
    } else if (k === 'when') rule.when = readEnum(v, p, d, workflow ? WORKFLOW_WHENS : JOB_WHENS);
    else if (k === 'allow_failure') rule.allowFailure = readBool(v, p, d);
    else if (k === 'variables') rule.variables = readVariables(v, p, d, { global: false });
    else d.warn(keyPos(m, k), p, 'not supported for a local run; ignored');
  }
  return rule;
}

/** Reads a `rules:` list (nested lists from `!reference` are flattened). */
export function readRules(n: LNode, path: string, d: Diagnostics, opts: { workflow: boolean }): Rule[] {
  if (n.kind !== 'seq') {
    d.error(n, path, 'expected a list of rules');
    return [];
  }
  return flattenSeq(n).flatMap((r, i) => readRule(r, sub(path, i), d, opts.workflow) ?? []);
}

/** What rule clauses are evaluated against. */
export interface RuleContext {
  /** Expanded variables visible to `if`. */
  vars: ExprVariables;
  /** Project files relative to the project directory (for `exists`), `/`-separated. */
  files: readonly string[];
}

function existsMatch(patterns: readonly string[], ctx: RuleContext): boolean {
  return patterns.some((raw) => {
    const pattern = expandText(raw, ctx.vars).replace(/^\.?\/+/, '');
    if (!isGlob(pattern)) return ctx.files.includes(pattern) || ctx.files.some((f) => f.startsWith(`${pattern.replace(/\/+$/, '')}/`));
    const re = globToRegExp(pattern);
    return ctx.files.some((f) => re.test(f));
  });
}

/** True when every clause of the rule holds (a rule with no clause always holds). */
export function ruleMatches(rule: Rule, ctx: RuleContext): boolean {
  if (rule.if !== undefined && !evaluateExpression(rule.if.expr, ctx.vars)) return false;
  if (rule.exists !== undefined && !existsMatch(rule.exists, ctx)) return false;
  return true;
}

/** The first matching rule, or undefined when none matches. */
export function firstMatch(rules: readonly Rule[], ctx: RuleContext): Rule | undefined {
  return rules.find((r) => ruleMatches(r, ctx));
}

/** True when any rule uses `exists` (the project's file list is then needed). */
export function usesExists(rules: readonly Rule[] | undefined): boolean {
  return rules?.some((r) => r.exists !== undefined) ?? false;
}
