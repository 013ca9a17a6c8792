import t from 'tap';
import { parseToml, tomlToPlain, TomlSyntaxError, type TomlNode, type TomlTable } from '../src/index.js';
import { parseTomlDocument } from '../src/toml-parser.js';

function plain(src: string): unknown {
  return tomlToPlain(parseToml(src));
}

function at(table: TomlTable, ...path: string[]): TomlNode {
  let node: TomlNode = table;
  for (const key of path) {
    if (node.type !== 'table') throw new Error(`${key}: not a table`);
    const next = node.entries.get(key);
    if (next === undefined) throw new Error(`${key}: missing`);
    node = next;
  }
  return node;
}

t.test('values of every TOML 1.0 type', async (t) => {
  const cases: Array<{ name: string; src: string; want: unknown }> = [
    { name: 'basic string with escapes', src: 'a = "tab\\there \\"q\\" \\u00e9 \\U0001F600"', want: { a: 'tab\there "q" é 😀' } },
    { name: 'literal string keeps backslashes', src: "a = 'C:\\Users\\x'", want: { a: 'C:\\Users\\x' } },
    { name: 'multi-line basic trims first newline', src: 'a = """\nline1\nline2"""', want: { a: 'line1\nline2' } },
    { name: 'line-ending backslash', src: 'a = """one \\\n    two"""', want: { a: 'one two' } },
    { name: 'quotes before the closing delimiter', src: 'a = """x"""""', want: { a: 'x""' } },
    { name: 'multi-line literal', src: "a = '''\nraw \\n\n'''", want: { a: 'raw \\n\n' } },
    { name: 'CRLF line ends', src: 'a = 1\r\nb = """x\r\ny"""\r\n', want: { a: 1, b: 'x\ny' } },
    { name: 'integers', src: 'a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101', want: { a: 99, b: -17, c: 1000, d: 0xdeadbeef, e: 0o755, f: 13 } },
    { name: 'floats', src: 'a = 3.14\nb = -0.01\nc = 5e+22\nd = 6.626e-34\ne = 224_617.445_991', want: { a: 3.14, b: -0.01, c: 5e22, d: 6.626e-34, e: 224617.445991 } },
    { name: 'inf and nan', src: 'a = inf\nb = -inf\nc = nan', want: { a: Infinity, b: -Infinity, c: NaN } },
    { name: 'booleans', src: 'a = true\nb = false', want: { a: true, b: false } },
    {
      name: 'date-times',
      src: 'a = 1979-05-27T07:32:00Z\nb = 1979-05-27 00:32:00.999-07:00\nc = 1979-05-27T07:32:00\nd = 1979-05-27\ne = 07:32:00.5',
      want: { a: '1979-05-27T07:32:00Z', b: '1979-05-27T00:32:00.999-07:00', c: '1979-05-27T07:32:00', d: '1979-05-27', e: '07:32:00.5' },
    },
    { name: 'arrays, nested and multi-line with comments', src: 'a = [\n  1, # one\n  [2, "x"],\n]\nb = []', want: { a: [1, [2, 'x']], b: [] } },
    { name: 'inline tables with dotted keys', src: 'a = { x = 1, y.z = "w" }\nb = {}', want: { a: { x: 1, y: { z: 'w' } }, b: {} } },
    { name: 'dotted and quoted keys', src: 'a.b.c = 1\n"q.k" = 2\n\'lit\' = 3\na . d = 4', want: { a: { b: { c: 1 }, d: 4 }, 'q.k': 2, lit: 3 } },
    { name: 'tables and sub-tables', src: '[x.y]\na = 1\n[x]\nb = 2', want: { x: { y: { a: 1 }, b: 2 } } },
    {
      name: 'array of tables with sub-tables',
      src: '[[r]]\nn = 1\n[r.s]\nv = "a"\n[[r]]\nn = 2\n[[r.p]]\ni = 1\n[[r.p]]\ni = 2',
      want: { r: [{ n: 1, s: { v: 'a' } }, { n: 2, p: [{ i: 1 }, { i: 2 }] }] },
    },
    { name: 'sub-table of a table made by dotted keys', src: '[fruit]\napple.color = "red"\n[fruit.apple.texture]\nsmooth = true', want: { fruit: { apple: { color: 'red', texture: { smooth: true } } } } },
    { name: 'BOM and blank document', src: '\uFEFF# only a comment\n\n', want: {} },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.same(plain(c.src), c.want);
    });
  }
});

t.test('integers stay exact to 64 bits; offset date-times carry epoch ms', async (t) => {
  const doc = parseToml('big = 9223372036854775807\nsmall = -9223372036854775808\nwhen = 1979-05-27T07:32:00+01:00');
  t.same(at(doc, 'big'), { type: 'integer', value: 9223372036854775807n, line: 1, column: 7 });
  t.equal((at(doc, 'small') as { value: bigint }).value, -9223372036854775808n);
  t.equal((at(doc, 'when') as { epochMs?: number }).epochMs, Date.UTC(1979, 4, 27, 6, 32, 0));
});

t.test('64-bit integers are exact at both ends of the range, in every base', async (t) => {
  const doc = parseToml('max = 9_223_372_036_854_775_807\nmin = -9223372036854775808\nhex = 0x7FFF_FFFF_FFFF_FFFF\noct = 0o777_777_777_777_777_777_777\nbin = 0b111\nbig = 9007199254740993');
  const values = Object.fromEntries([...doc.entries].map(([k, v]) => [k, v.type === 'integer' ? v.value : undefined]));
  t.same(values, { max: 2n ** 63n - 1n, min: -(2n ** 63n), hex: 2n ** 63n - 1n, oct: 2n ** 63n - 1n, bin: 7n, big: 9007199254740993n });
});

t.test('date-times: separators and Z normalised, offsets to epoch ms, fractions truncated, leap second read as :59', async (t) => {
  const doc = parseToml(
    'a = 1979-05-27 07:32:00z\nb = 1979-05-27t07:32:00.123456+01:30\nc = 1990-12-31T23:59:60Z\nd = 1979-05-27T07:32:00.5\ne = 1979-05-27\nf = 00:32:00.999999',
  );
  const dt = (k: string): unknown => {
    const n = at(doc, k);
    return n.type === 'datetime' ? { kind: n.kind, text: n.text, epochMs: n.epochMs } : n.type;
  };
  t.same(dt('a'), { kind: 'offset-datetime', text: '1979-05-27T07:32:00Z', epochMs: Date.UTC(1979, 4, 27, 7, 32, 0) });
  t.same(dt('b'), { kind: 'offset-datetime', text: '1979-05-27T07:32:00.123456+01:30', epochMs: Date.UTC(1979, 4, 27, 6, 2, 0, 123) });
  t.same(dt('c'), { kind: 'offset-datetime', text: '1990-12-31T23:59:60Z', epochMs: Date.UTC(1990, 11, 31, 23, 59, 59) });
  t.same(dt('d'), { kind: 'local-datetime', text: '1979-05-27T07:32:00.5', epochMs: undefined });
  t.same(dt('e'), { kind: 'local-date', text: '1979-05-27', epochMs: undefined });
  t.same(dt('f'), { kind: 'local-time', text: '00:32:00.999999', epochMs: undefined });
});

t.test('tables keep how they were made: header, implicit prefix, dotted keys, inline', async (t) => {
  const doc = parseToml('[a.b.c]\nx = 1\n[d]\ne.f = 2\ng = { h.i = 3 }');
  t.equal((at(doc, 'a') as TomlTable).kind, 'implicit');
  t.equal((at(doc, 'a', 'b', 'c') as TomlTable).kind, 'header');
  t.equal((at(doc, 'd', 'e') as TomlTable).kind, 'dotted');
  t.match(at(doc, 'd', 'e'), { line: 4, column: 1 });
  t.equal((at(doc, 'd', 'g', 'h') as TomlTable).kind, 'inline');
  t.equal((at(doc, 'd', 'g', 'h', 'i') as { value: bigint }).value, 3n);
});

t.test('parseTomlDocument keeps the syntax tree, with offsets into the text without its BOM', async (t) => {
  const src = '\uFEFF# head\n[[runners]]\nname = "a"\n';
  const doc = parseTomlDocument(src);
  t.equal(doc.text, src.slice(1));
  const table = doc.ast.body[0].body[0];
  t.equal(table?.type, 'TOMLTable');
  t.equal(doc.text.slice(table?.range[0], table?.range[1]), '[[runners]]\nname = "a"');
  t.equal(doc.ast.comments[0]?.value, ' head');
  t.match(at(doc.root, 'runners'), { type: 'array', ofTables: true, line: 2, column: 1 });
});

t.test('every value and table records its line and column', async (t) => {
  const doc = parseToml('# c\n[[runners]]\n  name = "x"\n  [runners.autoscaler]\n    max = [\n      1,\n      2 ]\n');
  const runners = at(doc, 'runners');
  t.equal(runners.type === 'array' && runners.items[0]?.line, 2);
  const runner = runners.type === 'array' ? (runners.items[0] as TomlTable) : doc;
  t.match(at(runner, 'name'), { line: 3, column: 10 });
  t.match(at(runner, 'autoscaler'), { line: 4, column: 3 });
  const max = at(runner, 'autoscaler', 'max');
  t.match(max, { line: 5, column: 11 });
  t.same(max.type === 'array' && max.items.map((i) => i.line), [6, 7]);
});

t.test('syntax errors name line, column and the reason', async (t) => {
  const cases: Array<{ name: string; src: string; line: number; column: number; reason: RegExp }> = [
    { name: 'missing value', src: 'a = 1\nb =\n', line: 2, column: 4, reason: /^expected a value, found end of line$/ },
    { name: 'missing equals', src: 'a 1', line: 1, column: 3, reason: /^expected "=" after the key, found "1"$/ },
    { name: 'two values on a line', src: 'a = 1 b = 2', line: 1, column: 7, reason: /^expected a newline after a value, found "b"$/ },
    { name: 'duplicate key', src: '[t]\na = 1\na = 2', line: 3, column: 1, reason: /^duplicate key t\.a$/ },
    { name: 'table defined twice', src: '[t]\n[t]', line: 2, column: 1, reason: /^cannot define \[t\]: t is already a table defined above$/ },
    { name: 'header over a dotted-key table', src: 'a.b = 1\n[a]', line: 2, column: 1, reason: /already a table defined by dotted keys/ },
    { name: 'dotted keys into a header table', src: '[a.b]\nx = 1\n[a]\nb.y = 2', line: 4, column: 1, reason: /^cannot add keys to a\.b with a dotted key/ },
    { name: 'dotted key through a value', src: 'a = 1\na.b = 2', line: 2, column: 1, reason: /^cannot add keys to a with a dotted key: it is an integer value$/ },
    { name: 'extending an inline table', src: 'a = { x = 1 }\na.y = 2', line: 2, column: 1, reason: /an inline table/ },
    { name: 'inline table value is closed', src: 'a = { x = { y = 1 }, x.z = 2 }', line: 1, column: 22, reason: /an inline table/ },
    { name: 'array of tables over a static array', src: 'a = []\n[[a]]', line: 2, column: 1, reason: /a static array/ },
    { name: 'table over an array of tables', src: '[[a]]\n[a]', line: 2, column: 1, reason: /an array of tables/ },
    { name: 'unterminated string', src: 'a = "abc\n', line: 1, column: 9, reason: /^unterminated string: expected the closing quote, found end of line$/ },
    { name: 'bad escape', src: 'a = "\\q"', line: 1, column: 7, reason: /^invalid escape sequence: expected one of \\b \\t/ },
    { name: 'surrogate escape', src: 'a = "\\uD800"', line: 1, column: 11, reason: /^\\uD800 is not a Unicode scalar value$/ },
    { name: 'leading zero', src: 'a = 007', line: 1, column: 5, reason: /^a number cannot have leading zeros$/ },
    { name: 'double underscore', src: 'a = 1__0', line: 1, column: 7, reason: /^an underscore in a number must stand between two digits$/ },
    { name: 'integer overflow', src: 'a = 9223372036854775808', line: 1, column: 5, reason: /^integer 9223372036854775808 does not fit in 64 bits \(expected -9223372036854775808 to 9223372036854775807\)$/ },
    { name: 'integer below the 64-bit range', src: 'a = -9223372036854775809', line: 1, column: 5, reason: /^integer -9223372036854775809 does not fit in 64 bits/ },
    { name: 'hex integer over 64 bits', src: 'x = 1\na = 0xffff_ffff_ffff_ffff', line: 2, column: 5, reason: /^integer 0xffff_ffff_ffff_ffff does not fit in 64 bits/ },
    { name: 'bad date', src: 'a = 2023-02-29', line: 1, column: 14, reason: /^invalid date: expected YYYY-MM-DD with month 01-12 and a day the month has$/ },
    { name: 'bad time', src: 'a = 24:00:00', line: 1, column: 12, reason: /^invalid time: expected HH:MM:SS with hour 00-23/ },
    { name: 'time without seconds (TOML 1.1 only)', src: 'a = 07:32', line: 1, column: 10, reason: /^unexpected end of file in a number, boolean or date-time .*times need seconds/ },
    { name: 'bare word as a value', src: 'a = yes', line: 1, column: 5, reason: /^unexpected "y": expected a value/ },
    { name: 'trailing comma in inline table', src: 'a = { x = 1, }', line: 1, column: 14, reason: /^trailing comma in inline table$/ },
    { name: 'newline in inline table', src: 'a = { x = 1,\n y = 2 }', line: 1, column: 13, reason: /^an inline table must be on one line$/ },
    { name: 'unterminated array', src: 'a = [1, 2', line: 1, column: 10, reason: /^expected "," or "\]" in array, found end of file$/ },
    { name: 'array cut off after a comma', src: 'a = [1,\n  2,\n', line: 2, column: 5, reason: /^expected a value or "\]" in array, found end of file$/ },
    { name: 'inline table cut off', src: 'a = {', line: 1, column: 6, reason: /^expected a key or "\}" in inline table, found end of file$/ },
    { name: 'lone carriage return on a blank line', src: '# c\r\n\r', line: 2, column: 1, reason: /^carriage return must be followed by a line feed$/ },
    { name: 'lone carriage return', src: 'a = 1\rb = 2', line: 1, column: 6, reason: /carriage return/ },
    { name: 'control character in comment', src: '# bad \u0001 char', line: 1, column: 7, reason: /^control character U\+0001 is not allowed in a string or comment/ },
    { name: 'header not closed', src: '[a\nb = 1', line: 1, column: 3, reason: /^expected \] to close the table header, found end of line$/ },
    { name: 'array-of-tables header not closed', src: 'x = 1\r\n[[a.b # c\r\nb = 1', line: 2, column: 10, reason: /^expected \]\] to close the table header, found end of line$/ },
    { name: 'key without its value on the line', src: 'a\n= 1', line: 1, column: 2, reason: /^expected "=" and the value on the same line as the key, found end of line$/ },
    { name: 'missing "=" at the end of the file', src: 'a = 1\nb\n\n', line: 2, column: 2, reason: /^expected "=" after the key, found end of file$/ },
    { name: 'header with a value', src: '[a = 1]', line: 1, column: 4, reason: /^expected \] to close the table header, found "="$/ },
    { name: 'value on the next line', src: 'b =\nc = 1', line: 1, column: 4, reason: /^expected a value, found end of line$/ },
    { name: 'missing comma in array', src: 'a = [1 2]', line: 1, column: 8, reason: /^expected "," between the items, found "2"$/ },
    { name: 'duplicate key in an inline table', src: 'a = { x = 1, x = 2 }', line: 1, column: 14, reason: /^duplicate key x$/ },
    { name: 'duplicate of a quoted key with an escape', src: '[t]\n"a\\u0062" = 1\nab = 2', line: 3, column: 1, reason: /^duplicate key t\.ab$/ },
    { name: 'duplicate empty quoted key', src: '"" = 1\n\'\' = 2', line: 2, column: 1, reason: /^duplicate key ""$/ },
    { name: 'the first clash in the file is the one reported', src: 'x = 1\nx = 2\n[t]\n[t]', line: 2, column: 1, reason: /^duplicate key x$/ },
    { name: 'sub-table of an array element defined twice', src: '[[r]]\n[r.s]\n[[r]]\n[r.s]\nx = 1\n[r.s]', line: 6, column: 1, reason: /^cannot define \[r\.s\]: r\.s is already a table defined above$/ },
    { name: 'multi-line key', src: '"""k""" = 1', line: 1, column: 1, reason: /multi-line string/ },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const err = t.throws(() => parseToml(c.src)) as unknown;
      if (!(err instanceof TomlSyntaxError)) {
        t.fail(`not a TomlSyntaxError: ${String(err)}`);
        return;
      }
      t.equal(err.code, 'invalid_argument');
      t.same({ line: err.line, column: err.column }, { line: c.line, column: c.column });
      t.match(err.reason, c.reason);
      t.equal(err.message, `${c.line}:${c.column}: ${err.reason}`);
    });
  }
});

t.test('plain conversion keeps a __proto__ key as data', async (t) => {
  const v = plain('[x]\n"__proto__" = { polluted = true }') as { x: Record<string, unknown> };
  t.ok(Object.hasOwn(v.x, '__proto__'));
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});
