import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { bundlePlugin, readPluginRelease } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const LOCAL = join(ROOT, 'plugins', 'local');
const run = promisify(execFile);

/**
 * Runs a bundle with this Node. tap hands its hooks to every child through NODE_OPTIONS, and with them Node loads
 * a module-syntax file outside any package as CommonJS; the shell drops them before Node starts.
 */
async function runBundle(file: string, args: string[] = []): Promise<string> {
  const script = 'unset NODE_OPTIONS; exec "$0" "$@"';
  const { stdout } = await run('/bin/sh', ['-c', script, process.execPath, file, ...args], { cwd: dirname(file), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return stdout;
}

t.test('bundling plugins/local is reproducible and carries no path of this checkout', async (t) => {
  const dir = tmpDir(t);
  const release = await readPluginRelease(LOCAL);
  const a = await bundlePlugin(release, { outFile: join(dir, 'a', 'plugin.js') });
  const b = await bundlePlugin(release, { outFile: join(dir, 'b', 'plugin.js') });
  t.equal(a.sha256, b.sha256, 'same bytes twice');
  const text = readFileSync(a.file, 'utf8');
  t.ok(text.startsWith('#!/usr/bin/env node\n'), 'starts with the shebang');
  t.notOk(text.includes(ROOT), 'no absolute path of the checkout');
  t.equal(a.bytes, Buffer.byteLength(text));
  t.ok(a.fileReferences.includes('dist/src/version.js: ../../package.json → inlined (name, version)'), a.fileReferences.join('\n'));
  t.ok(a.fileReferences.includes('dist/src/launch.js: ./instance/main.js → entry carried by the bundle'), a.fileReferences.join('\n'));
  t.comment(`plugins/local bundle: ${(a.bytes / 1024).toFixed(1)} KiB, ${a.modules} modules, ${Math.round(a.durationMs)} ms`);
});

interface FixtureCase {
  name: string;
  /** Files of the fixture package besides package.json, by path. */
  files: Record<string, string>;
  release?: Record<string, unknown>;
  version?: string;
  /** Arguments for the bundle, and what it must print. */
  runs?: { args: string[]; stdout: string }[];
  nativeLeftOut?: RegExp;
  error?: RegExp;
}

const cases: FixtureCase[] = [
  {
    name: 'the package.json read relative to a module becomes the release version',
    files: { 'dist/src/main.js': "import { readFileSync } from 'node:fs';\nconsole.log(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);\n" },
    version: '2.3.4',
    runs: [{ args: [], stdout: '2.3.4\n' }],
  },
  {
    name: 'a named entry runs with the arguments after its name, the main module without the flag',
    files: {
      'dist/src/main.js': "console.log('main', JSON.stringify(process.argv.slice(2)));\n",
      'dist/src/helper.js': "console.log('helper', JSON.stringify(process.argv.slice(2)));\n",
    },
    release: { entries: { helper: 'dist/src/helper.js' } },
    runs: [
      { args: ['x'], stdout: 'main ["x"]\n' },
      { args: ['--fleetrunner-entry', 'helper', 'a', 'b'], stdout: 'helper ["a","b"]\n' },
    ],
  },
  {
    name: 'an optional native addon is left out and the JavaScript fallback runs',
    files: {
      'dist/src/main.js': "import how from './native.cjs';\nconsole.log(how);\n",
      'dist/src/native.cjs': "let how = 'native';\ntry { require('./build/Release/fast.node'); } catch { how = 'javascript'; }\nmodule.exports = how;\n",
    },
    runs: [{ args: [], stdout: 'javascript\n' }],
    nativeLeftOut: /^\.\/build\/Release\/fast\.node \(from dist\/src\/native\.cjs\)$/,
  },
  {
    name: 'a data file read relative to a module is refused',
    files: { 'dist/src/main.js': "import { readFileSync } from 'node:fs';\nconsole.log(readFileSync(new URL('./data.txt', import.meta.url), 'utf8'));\n" },
    error: /dist\/src\/main\.js:2: reads \.\/data\.txt relative to itself/,
  },
  {
    name: 'import.meta.resolve is refused',
    files: { 'dist/src/main.js': "console.log(import.meta.resolve('./x.js'));\n" },
    error: /dist\/src\/main\.js:1: uses import\.meta\.resolve/,
  },
  {
    name: 'a dependency that cannot be bundled is refused',
    files: { 'dist/src/main.js': "import pad from 'left-pad-not-installed';\nconsole.log(pad);\n" },
    error: /Could not resolve "left-pad-not-installed"/,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = tmpDir(t);
    const pkgDir = join(dir, 'fixture');
    for (const [path, text] of Object.entries({ ...c.files, 'package.json': JSON.stringify({ name: '@fleetrunner/plugin-fixture', version: '1.0.0', type: 'module', fleetrunnerRelease: c.release }) })) {
      mkdirSync(dirname(join(pkgDir, path)), { recursive: true });
      writeFileSync(join(pkgDir, path), text);
    }
    const release = await readPluginRelease(pkgDir);
    const outFile = join(dir, 'out', 'plugin.js');
    if (c.error) {
      await t.rejects(bundlePlugin(release, { outFile, version: c.version }), { code: 'invalid_argument', message: c.error });
      return;
    }
    const result = await bundlePlugin(release, { outFile, version: c.version });
    for (const r of c.runs ?? []) t.equal(await runBundle(outFile, r.args), r.stdout, `bundle ${r.args.join(' ')}`);
    if (c.nativeLeftOut) t.match(result.nativeLeftOut, [c.nativeLeftOut]);
  });
}

t.test('release facts come from package.json, with checked defaults', async (t) => {
  const dir = tmpDir(t);
  const write = (pkg: unknown): string => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    return dir;
  };
  const local = await readPluginRelease(LOCAL);
  const pkg = JSON.parse(readFileSync(join(LOCAL, 'package.json'), 'utf8')) as { version: string };
  t.equal(local.name, 'local');
  t.equal(local.version, pkg.version, 'version of package.json');
  t.same(local.entries, { instance: 'dist/src/instance/main.js' });
  const defaults = await readPluginRelease(write({ name: '@fleetrunner/plugin-aws', version: '0.2.0' }));
  t.match(defaults, { name: 'aws', version: '0.2.0', main: 'dist/src/main.js', entries: {} });
  t.equal(defaults.platforms, undefined, 'the installer picks the JS platforms');
  const bad: [string, unknown, RegExp][] = [
    ['a "v" version', { name: 'x', version: 'v1.0.0' }, /version: expected semver/],
    ['an entry outside the package', { name: 'x', version: '1.0.0', fleetrunnerRelease: { entries: { up: '../other.js' } } }, /entries\.up: expected a path inside the package/],
    ['an upper-case entry name', { name: 'x', version: '1.0.0', fleetrunnerRelease: { entries: { Up: 'a.js' } } }, /"Up" is not a lower-case word/],
    ['an artifact name with a slash', { name: 'x', version: '1.0.0', fleetrunnerRelease: { name: 'a/b' } }, /fleetrunnerRelease\.name/],
    ['a bad platform', { name: 'x', version: '1.0.0', fleetrunnerRelease: { platforms: ['linux'] } }, /invalid platform "linux"/],
  ];
  for (const [name, body, message] of bad) await t.rejects(readPluginRelease(write(body)), { message }, name);
});
