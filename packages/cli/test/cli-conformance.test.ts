import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../bin/runner.js', import.meta.url));

function runRunner(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

t.test('runner --version prints the version block', async (t) => {
  const r = await runRunner(['--version']);
  t.equal(r.code, 0);
  t.match(r.out, /^Version: +\d+\.\d+\.\d+/m);
  t.match(r.out, /^OS\/Arch: +linux\//m);
});

t.test('runner fleeting conformance local passes every check and prints the table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-conformance-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'plugin_config.json');
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, 'state'), subnet: '127.120.0.0/16' }));
  const r = await runRunner(['fleeting', 'conformance', 'local', '--config', cfg]);
  t.equal(r.code, 0, r.out + r.err);
  t.match(r.out, /^CHECK +RESULT +MS +DETAIL$/m);
  t.match(r.out, /connect info reaches each instance over SSH +pass/);
  t.match(r.out, /10 of 10 checks passed/);
});

t.test('a plugin that fails a check makes the command exit 1 with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-conformance-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'plugin_config.json');
  // The local plugin refuses an unknown key at init: the first (critical) check fails, the rest are skipped.
  writeFileSync(cfg, JSON.stringify({ state_dir: join(dir, 'state'), subnet: '127.120.0.0/16', no_such_key: 1 }));
  const r = await runRunner(['fleeting', 'conformance', 'local', '--config', cfg]);
  t.equal(r.code, 1);
  t.match(r.out, /init returns provider info +fail .*no_such_key/);
  t.match(r.out, /skipped: an earlier check failed/);
});

t.test('a binary that is not a plugin is reported with its path, exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-conformance-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'not-a-plugin');
  writeFileSync(fake, '#!/bin/sh\necho hello\nexit 0\n');
  chmodSync(fake, 0o755);
  const r = await runRunner(['fleeting', 'conformance', fake]);
  t.equal(r.code, 1);
  t.match(r.err, fake);
});
