#!/usr/bin/env node
// Runs every check and test of the repository and ends with one plain line: `N passed, N failed`.
// Tests are compiled by `tsc -b` (tools/setup.sh) and run from dist/ by tap; each named subtest of a test file
// counts once, a test file that crashes outside its subtests counts as one failure, and each static check
// (generated code, dependency direction, lint) counts once.
import { spawn } from 'node:child_process';
import { readdirSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv.slice(2);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
}

const files = [];
for (const group of ['packages', 'plugins', 'tools']) {
  if (!existsSync(join(root, group))) continue;
  for (const d of readdirSync(join(root, group))) files.push(...testFiles(join(root, group, d, 'dist', 'test')));
}
files.push(...testFiles(join(root, 'test', 'dist')));
const selected = files.map((f) => relative(root, f)).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x))).sort();

function run(cmd, args, { tee = true } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (tee) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      if (tee) process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

let passed = 0;
let failed = 0;
if (filter.length === 0) {
  const checks = [
    ['generated code is fresh', 'node', ['tools/protogen/generate.mjs', '--check']],
    ['dependencies point down', 'node', ['tools/depcheck/check.mjs']],
    ['lint', 'node', ['node_modules/eslint/bin/eslint.js', '--quiet', '.']],
  ];
  for (const [name, cmd, args] of checks) {
    const { code } = await run(cmd, args);
    console.log(`${code === 0 ? 'ok' : 'not ok'} - check: ${name}`);
    if (code === 0) passed++;
    else failed++;
  }
}

const tapBin = join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs');
const { code, out } = selected.length ? await run('node', [tapBin, '--reporter=tap', ...selected]) : { code: 0, out: '' };
mkdirSync(join(root, '.tap'), { recursive: true });
writeFileSync(join(root, '.tap', 'last-run.tap'), out);

// Parse the TAP stream: file results at indent 0, their subtests at indent 4.
let childFails = 0;
for (const line of out.split('\n')) {
  let m = /^ {4}(not ok|ok) \d+/.exec(line);
  if (m) {
    if (/# SKIP/i.test(line)) continue;
    if (m[1] === 'ok') passed++;
    else {
      failed++;
      childFails++;
    }
    continue;
  }
  m = /^(not ok|ok) \d+ - (.*)$/.exec(line);
  if (m) {
    if (m[1] === 'not ok' && childFails === 0) {
      failed++;
      console.log(`# file failed outside its subtests: ${m[2]}`);
    }
    childFails = 0;
  }
}
if (code !== 0 && failed === 0) failed++;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
