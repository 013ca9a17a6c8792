// CI/CD variable expressions of `rules: if` / `workflow: rules: if`, with GitLab's semantics:
// - `$VAR` is the variable's value, or null when it is not defined;
// - `==` / `!=` compare exactly (`$UNDEFINED == null` is true, `$EMPTY == ""` is true, `$UNDEFINED == ""` false);
// - `=~` / `!~` match a `/pattern/flags` regular expression (also when a variable holds `/pattern/`); when the
//   right side is a plain string, `=~` is true when the left side is a substring of it (GitLab's quirk);
// - `&&` / `||` work like Ruby's (they return an operand; only null is falsy, so `""` is truthy there);
//   `&&` binds tighter than `||`; parentheses group;
// - the whole expression is true when its value is "present": not null, not false, not the empty string.
import { RunnerError } from '@fleetrunner/common';

type Token =
  | { t: 'var'; name: string }
  | { t: 'str'; value: string }
  | { t: 're'; source: string; flags: string }
  | { t: 'null' }
  | { t: 'op'; op: BinaryOp }
  | { t: '(' }
  | { t: ')' };

type BinaryOp = '==' | '!=' | '=~' | '!~' | '&&' | '||';

/** A parsed expression. */
export type Expr =
  | { k: 'var'; name: string }
  | { k: 'str'; value: string }
  | { k: 're'; source: string; flags: string }
  | { k: 'null' }
  | { k: 'bin'; op: BinaryOp; left: Expr; right: Expr };

type Value = string | null | boolean | RegExp;

const MAX_TOKENS = 100;

const LEXEMES: Array<[RegExp, (m: RegExpExecArray) => Token]> = [
  [/^\(/, () => ({ t: '(' })],
  [/^\)/, () => ({ t: ')' })],
  [/^\$(\w+)/, (m) => ({ t: 'var', name: m[1]! })],
  [/^"(.*?)"|^'(.*?)'/, (m) => ({ t: 'str', value: m[1] ?? m[2] ?? '' })],
  // GitLab's pattern lexeme: at least two characters between the slashes, `\/` escapes a slash.
  [/^\/((?:[^/]|\\\/)+[^\\])\/([ismU]*)/, (m) => ({ t: 're', source: m[1]!.replace(/\\\//g, '/'), flags: m[2]! })],
  [/^null\b/, () => ({ t: 'null' })],
  [/^(==|!=|=~|!~|&&|\|\|)/, (m) => ({ t: 'op', op: m[1] as BinaryOp })],
];

function syntaxError(expr: string, why: string): RunnerError {
  return new RunnerError('invalid_argument', `invalid expression syntax in ${JSON.stringify(expr)}: ${why}`);
}

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let rest = expr;
  for (;;) {
    rest = rest.replace(/^\s+/, '');
    if (rest === '') return out;
    if (out.length >= MAX_TOKENS) throw syntaxError(expr, `more than ${MAX_TOKENS} tokens`);
    const hit = LEXEMES.map(([re, make]) => [re.exec(rest), make] as const).find(([m]) => m !== null);
    if (hit === undefined) throw syntaxError(expr, `unknown token at ${JSON.stringify(rest.slice(0, 20))}`);
    const [m, make] = hit;
    out.push(make(m!));
    rest = rest.slice(m![0].length);
  }
}

/** Lower binds tighter, as in GitLab (Ruby's precedence table). */
const PRECEDENCE: Record<BinaryOp, number> = { '==': 10, '!=': 10, '=~': 10, '!~': 10, '&&': 11, '||': 12 };

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): Expr {
    if (this.tokens.length === 0) throw syntaxError(this.text, 'empty expression');
    const e = this.binary(12);
    if (this.i < this.tokens.length) throw syntaxError(this.text, 'unexpected token after the end of the expression');
    return e;
  }

  private binary(level: number): Expr {
    let left = level === 10 ? this.operand() : this.binary(level - 1);
    for (;;) {
      const tok = this.tokens[this.i];
      if (tok?.t !== 'op' || PRECEDENCE[tok.op] !== level) return left;
      this.i++;
      const right = level === 10 ? this.operand() : this.binary(level - 1);
      left = { k: 'bin', op: tok.op, left, right };
    }
  }

  private operand(): Expr {
    const tok = this.tokens[this.i++];
    switch (tok?.t) {
      case 'var':
        return { k: 'var', name: tok.name };
      case 'str':
        return { k: 'str', value: tok.value };
      case 're':
        compileRegex(tok.source, tok.flags, this.text);
        return { k: 're', source: tok.source, flags: tok.flags };
      case 'null':
        return { k: 'null' };
      case '(': {
        const e = this.binary(12);
        if (this.tokens[this.i++]?.t !== ')') throw syntaxError(this.text, 'missing )');
        return e;
      }
      default:
        throw syntaxError(this.text, tok === undefined ? 'unexpected end' : `unexpected ${tok.t === 'op' ? tok.op : tok.t}`);
    }
  }
}

/** Parses an expression; throws an `invalid_argument` RunnerError naming the problem. */
export function parseExpression(text: string): Expr {
  return new Parser(tokenize(text), text).parse();
}

/** RE2 syntax where JavaScript differs: `(?P<name>` groups and leading inline flags. */
function compileRegex(source: string, flags: string, text: string): RegExp {
  let src = source.replace(/\(\?P</g, '(?<');
  let js = '';
  const inline = /^\(\?([imsU]+)\)/.exec(src);
  if (inline !== null) {
    src = src.slice(inline[0].length);
    flags += inline[1];
  }
  if (flags.includes('i')) js += 'i';
  // Ruby's `m` (and RE2's `s`) let `.` match newlines.
  if (flags.includes('m') || flags.includes('s')) js += 's';
  try {
    return new RegExp(src, js);
  } catch (err) {
    throw syntaxError(text, `invalid regular expression /${source}/: ${(err as Error).message}`);
  }
}

/** The variables an expression sees: name → value (a Map will do). Undefined names are null. */
export interface ExprVariables {
  get(name: string): string | undefined;
}

function evaluate(e: Expr, vars: ExprVariables): Value {
  switch (e.k) {
    case 'var':
      return vars.get(e.name) ?? null;
    case 'str':
      return e.value;
    case 'null':
      return null;
    case 're':
      return compileRegex(e.source, e.flags, `/${e.source}/`);
    case 'bin':
      return binary(e.op, e, vars);
  }
}

const rubyTruthy = (v: Value): boolean => v !== null && v !== false;

function binary(op: BinaryOp, e: Extract<Expr, { k: 'bin' }>, vars: ExprVariables): Value {
  if (op === '&&') {
    const l = evaluate(e.left, vars);
    return rubyTruthy(l) ? evaluate(e.right, vars) : l;
  }
  if (op === '||') {
    const l = evaluate(e.left, vars);
    return rubyTruthy(l) ? l : evaluate(e.right, vars);
  }
  const l = evaluate(e.left, vars);
  const r = evaluate(e.right, vars);
  if (op === '==') return same(l, r);
  if (op === '!=') return !same(l, r);
  const m = matches(l, r);
  return op === '=~' ? m : !m;
}

function same(a: Value, b: Value): boolean {
  if (a instanceof RegExp || b instanceof RegExp) return String(a) === String(b);
  return a === b;
}

function matches(text: Value, pattern: Value): boolean {
  if (pattern === null || pattern === false) return false;
  const subject = text === null ? '' : String(text);
  if (pattern instanceof RegExp) return pattern.test(subject);
  const p = String(pattern);
  // A variable holding `/pattern/flags` is a regular expression; anything else is matched as a substring.
  const m = /^\/((?:[^/]|\\\/)+[^\\])\/([ismU]*)$/.exec(p);
  if (m !== null) return compileRegex(m[1]!.replace(/\\\//g, '/'), m[2]!, p).test(subject);
  return p.includes(subject);
}

/** Evaluates a parsed expression to GitLab's true/false. */
export function evaluateExpression(e: Expr, vars: ExprVariables): boolean {
  const v = evaluate(e, vars);
  return v !== null && v !== false && v !== '';
}
