import t from 'tap';
import { evaluateExpression, parseExpression } from '../src/index.js';

const vars = new Map<string, string>([
  ['BRANCH', 'main'],
  ['DEFAULT', 'main'],
  ['EMPTY', ''],
  ['FEATURE', 'feature/login'],
  ['TITLE', 'Merge branch x into main'],
  ['PATTERN', '/^feat/'],
  ['PATTERN_I', '/^FEAT/i'],
  ['PLAIN', '1234'],
  ['SLASHED', 'a/b'],
  ['DQ', 'say "hi"'],
]);

const cases: Array<[name: string, expr: string, expected: boolean]> = [
  ['defined and non-empty variable', '$BRANCH', true],
  ['defined but empty variable', '$EMPTY', false],
  ['undefined variable', '$NOPE', false],
  ['equals double-quoted string', '$BRANCH == "main"', true],
  ['equals single-quoted string', "$BRANCH == 'main'", true],
  ['equals is case-sensitive', '$BRANCH == "Main"', false],
  ['not equals', '$BRANCH != "dev"', true],
  ['two variables equal', '$BRANCH == $DEFAULT', true],
  ['string on the left', '"main" == $BRANCH', true],
  ['undefined equals null', '$NOPE == null', true],
  ['empty is not null', '$EMPTY == null', false],
  ['empty equals empty string', '$EMPTY == ""', true],
  ['undefined is not the empty string', '$NOPE == ""', false],
  ['defined differs from null', '$BRANCH != null', true],
  ['undefined != "" is true', '$NOPE != ""', true],
  ['regex match', '$FEATURE =~ /^feature\\//', true],
  ['regex with escaped slash', '$SLASHED =~ /a\\/b/', true],
  ['regex no match', '$BRANCH =~ /^feature/', false],
  ['regex negated match', '$BRANCH !~ /^feature/', true],
  ['regex negated no match', '$FEATURE !~ /^feature/', false],
  ['regex case-insensitive flag', '$BRANCH =~ /^MAIN$/i', true],
  ['regex is case-sensitive by default', '$BRANCH =~ /^MAIN$/', false],
  ['regex against undefined matches as empty', '$NOPE =~ /^$/', true],
  ['regex against undefined, non-empty pattern', '$NOPE =~ /.+x/', false],
  ['pattern held by a variable', '$FEATURE =~ $PATTERN', true],
  ['pattern variable with flag', '$FEATURE =~ $PATTERN_I', true],
  ['pattern variable that is undefined never matches', '$FEATURE =~ $NOPE', false],
  ['plain string on the right: substring quirk', '"23" =~ $PLAIN', true],
  ['plain string on the right: not a substring', '"99" =~ $PLAIN', false],
  ['and: both true', '$BRANCH == "main" && $FEATURE', true],
  ['and: one false', '$BRANCH == "main" && $NOPE', false],
  ['or: one true', '$NOPE || $BRANCH == "main"', true],
  ['or: none true', '$NOPE || $BRANCH == "dev"', false],
  ['&& binds tighter than ||', '$BRANCH == "main" || $NOPE && $NOPE', true],
  ['&& binds tighter than || (2)', '$NOPE && $NOPE || $BRANCH == "main"', true],
  ['parentheses group first', '($BRANCH == "main" || $NOPE) && $NOPE', false],
  ['nested parentheses', '$BRANCH == "x" || (($FEATURE =~ /login/ || $NOPE) && $DEFAULT)', true],
  // GitLab evaluates && and || like Ruby: "" is truthy inside them, and the operand is the value.
  ['Ruby semantics: "" && x is x', '$EMPTY && $BRANCH', true],
  ['Ruby semantics: "" || x is ""', '$EMPTY || $BRANCH', false],
  ['double quote inside single quotes', `$DQ == 'say "hi"'`, true],
  ['whitespace is free', '  $BRANCH=="main"  ', true],
  ['commit title regex', '$TITLE =~ /^Merge branch.*/', true],
];

t.test('expressions evaluate as GitLab does', async (t) => {
  for (const [name, expr, expected] of cases) {
    t.equal(evaluateExpression(parseExpression(expr), vars), expected, `${name}: ${expr}`);
  }
});

const invalid: Array<[name: string, expr: string, message: RegExp]> = [
  ['empty', '', /empty expression/],
  ['unknown token', '$A = "x"', /unknown token/],
  ['dangling operator', '$A ==', /unexpected end/],
  ['missing right parenthesis', '($A == "x"', /missing \)/],
  ['two operands in a row', '$A $B', /unexpected token after the end/],
  ['single-character regex', '$A =~ /./', /unknown token/],
  ['invalid regex', '$A =~ /(ab/', /invalid regular expression/],
  ['unterminated string', '$A == "x', /unknown token/],
];

t.test('invalid expressions are syntax errors', async (t) => {
  for (const [name, expr, message] of invalid) {
    t.throws(() => parseExpression(expr), { code: 'invalid_argument', message }, name);
  }
});
