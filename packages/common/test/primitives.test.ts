import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandGo, openAtomicWrite, parseGoBool, parseHostPort, splitHostPort, writeFileAtomic } from '../src/index.js';

t.test('parseGoBool is strconv.ParseBool', async (t) => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.equal(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) t.equal(parseGoBool(s), false, s);
  for (const s of ['', 'yes', 'tRUE', ' true', 'on', '2']) t.equal(parseGoBool(s), undefined, JSON.stringify(s));
});

t.test('expandGo is os.Expand', async (t) => {
  const vars: Record<string, string> = { A: 'x', B_1: 'y', '1': 'one', $: 'dollar' };
  const map = (n: string): string => vars[n] ?? '';
  const cases: [string, string, boolean][] = [
    ['$A/${B_1}', 'x/y', false],
    ['$A-$NOPE-', 'x--', false],
    ['cost$', 'cost$', false],
    ['a$/b', 'a$/b', false],
    ['$1x', 'onex', false],
    ['$$', 'dollar', false],
    ['${1}', 'one', false],
    ['a${A', 'aA', true],
    ['a${}b', 'ab', true],
  ];
  for (const [text, want, bad] of cases) {
    let malformed = false;
    t.equal(expandGo(text, map, () => (malformed = true)), want, text);
    t.equal(malformed, bad, `${text}: malformed`);
  }
});

t.test('host:port, strict and lenient', async (t) => {
  t.same(parseHostPort('localhost:9252'), { host: 'localhost', port: '9252' });
  t.same(parseHostPort('[::1]:22'), { host: '::1', port: '22' });
  t.same(parseHostPort('[::]'), { host: '::', port: undefined });
  t.same(parseHostPort(':9252'), { host: '', port: '9252' });
  t.match(parseHostPort('::1'), { error: /too many colons/ });
  t.match(parseHostPort('[::1'), { error: /missing "\]"/ });
  t.match(parseHostPort('[::1]x'), { error: /after "\]"/ });
  const lenient: [string, { host: string; port?: number }][] = [
    ['10.0.0.1', { host: '10.0.0.1' }],
    ['10.0.0.1:2222', { host: '10.0.0.1', port: 2222 }],
    ['[fe80::1]:22', { host: 'fe80::1', port: 22 }],
    ['[fe80::1]', { host: 'fe80::1' }],
    ['fe80::1', { host: 'fe80::1' }],
    ['host:ssh', { host: 'host:ssh' }],
    [':22', { host: ':22' }],
  ];
  for (const [addr, want] of lenient) t.same(splitHostPort(addr), want, addr);
});

t.test('writeFileAtomic replaces a file with its mode, leaves no temporary file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  writeFileSync(file, 'old', { mode: 0o644 });
  const umask = process.umask(0o077);
  try {
    await writeFileAtomic(file, 'new', { mode: 0o640 });
  } finally {
    process.umask(umask);
  }
  t.equal(readFileSync(file, 'utf8'), 'new');
  t.equal(statSync(file).mode & 0o777, 0o640, 'the mode is applied whatever the umask');
  t.same(readdirSync(dir), ['state.json']);
  await t.rejects(writeFileAtomic(join(dir, 'missing', 'x'), 'y'), { code: 'ENOENT' });
  t.same(readdirSync(dir), ['state.json'], 'nothing left by a failed write');
});

t.test('openAtomicWrite: nothing under the final name until commit; abort leaves nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cache.zip');
  const w = await openAtomicWrite(file);
  w.stream.write('part one, ');
  w.stream.write('part two');
  t.same(readdirSync(dir).filter((n) => n === 'cache.zip'), [], 'not visible before commit');
  await w.commit();
  t.equal(readFileSync(file, 'utf8'), 'part one, part two');
  t.equal(statSync(file).mode & 0o777, 0o600);
  const a = await openAtomicWrite(join(dir, 'other.zip'));
  a.stream.write('half');
  await a.abort();
  t.same(readdirSync(dir), ['cache.zip'], 'abort removed the temporary file');
  const d = await openAtomicWrite(join(dir, 'destroyed.zip'));
  d.stream.destroy();
  await t.rejects(d.commit(), /closed before it finished/);
  t.same(readdirSync(dir), ['cache.zip'], 'a destroyed stream commits nothing');
});
