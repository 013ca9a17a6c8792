import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { firstInvalidUtf8, formatDiagnostic, formatDiagnostics, loadConfig } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetrunner-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

const GOOD = '[[runners]]\nurl = "https://gitlab.example.com"\ntoken = "$T"\nexecutor = "instance"\n[runners.autoscaler]\nplugin = "aws"\ncapacity_per_instance = 1\n';

t.test('loads a file, expands from the injected env, resolves the state dir next to it', async (t) => {
  const file = write('config.toml', GOOD);
  const r = await loadConfig(file, { env: { T: 'glrt-env' } });
  t.same(r.errors, []);
  t.equal(r.file, file);
  t.equal(r.config?.runners[0]?.token, 'glrt-env');
  t.equal(r.config?.runners[0]?.autoscaler?.stateStorage.dir, join(dir, '.taskscaler'));
  t.same(r.config?.source, { file, dir });
});

t.test('a missing file is a whole-file error', async (t) => {
  const r = await loadConfig(join(dir, 'nope.toml'), { env: {} });
  t.equal(r.config, undefined);
  t.same(r.errors.map(formatDiagnostic), [`${join(dir, 'nope.toml')}: reading config file: no such file`]);
});

t.test('invalid UTF-8 names the line', async (t) => {
  const bytes = new Uint8Array([...new TextEncoder().encode('a = 1\n# caf'), 0xc3, 0x28, 0x0a]);
  const r = await loadConfig(write('latin.toml', bytes), { env: {} });
  t.same(r.errors.map((e) => [e.line, e.message]), [[2, 'the file is not valid UTF-8']]);
});

t.test('UTF-8 validation', async (t) => {
  const cases: Array<[string, number[], number]> = [
    ['ascii', [0x61, 0x62], -1],
    ['two, three and four bytes', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], -1],
    ['overlong slash', [0x61, 0xc0, 0xaf], 1],
    ['encoded surrogate', [0xed, 0xa0, 0x80], 0],
    ['truncated', [0x61, 0xe2, 0x82], 1],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['stray continuation', [0x80], 0],
  ];
  for (const [name, bytes, at] of cases) {
    t.test(name, async (t) => {
      t.equal(firstInvalidUtf8(new Uint8Array(bytes)), at);
    });
  }
});

t.test('an aborted load throws instead of reporting', async (t) => {
  const ac = new AbortController();
  ac.abort();
  await t.rejects(loadConfig(write('x.toml', GOOD), { env: {}, signal: ac.signal }), { name: 'AbortError' });
});

t.test('formatDiagnostics prints every problem in line order and a summary', async (t) => {
  const src = 'concurrent = 0\nbogus = 1\n[[runners]]\nurl = "https://gitlab.example.com"\ntoken = "x"\nexecutor = "instance"\n[runners.autoscaler]\nplugin = "aws"\ncapacity_per_instance = 1\n';
  const r = await loadConfig(write('two.toml', src), { env: {} });
  t.equal(
    formatDiagnostics({ ...r, file: 'two.toml' }).replaceAll(dir + '/', ''),
    ['two.toml:1: concurrent: must be ≥ 1, got 0', 'two.toml:2: warning: bogus: unknown key at the top level, ignored', 'two.toml: 1 error, 1 warning'].join('\n'),
  );
  const ok = await loadConfig(write('ok.toml', GOOD.replace('$T', 'glrt-x')), { env: {} });
  t.equal(formatDiagnostics(ok).replaceAll(dir + '/', ''), 'ok.toml: valid');
  const syntax = await loadConfig(write('bad.toml', 'a = [1,\n'), { env: {} });
  t.equal(formatDiagnostics(syntax).replaceAll(dir + '/', ''), 'bad.toml:1:8: TOML syntax error: expected a value or "]" in array, found end of file\nbad.toml: 1 error, 0 warnings');
});
