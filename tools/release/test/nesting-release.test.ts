// plugins/nesting (the nesting daemon) released as one bundle: the file runs from a directory with no node_modules
// above it, serves the API (tart hypervisor over the tart stand-in of plugins/nesting's tests) and is its own
// client (init, create, list), reporting the released version.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { releasePlugin } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const NESTING = join(ROOT, 'plugins', 'nesting');
const STANDIN = join(NESTING, 'test', 'support', 'tart-standin.mjs');
const run = promisify(execFile);

/** A runner's environment, without tap's hooks (with them Node loads an extensionless ES module as CommonJS). */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...extra };
}

function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(d);
    if (dirname(d) === d) return found;
  }
}

t.test('plugins/nesting: one bundle that serves and is its own client, with the released version', async (t) => {
  const out = tmpDir(t, { prefix: 'nesting-release' });
  const released = await releasePlugin(NESTING, { dryRun: true, version: '9.8.7', build: false, outDir: out, onStep: (line) => t.comment(line) });
  t.equal(released.name, 'nesting');
  t.same(released.packaged.map((p) => `${p.platform.os}/${p.platform.architecture}`).sort(), ['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64']);
  const home = tmpDir(t, { prefix: 'nesting-bundle' });
  t.same(nodeModulesAbove(home), [], 'no node_modules above the directory the bundle runs from');
  const file = join(home, 'nesting');
  copyFileSync(join(out, 'oci', 'linux', 'amd64', 'plugin'), file);
  // tap puts its hooks into every child's NODE_OPTIONS (whatever env it is given); a host has none: this launcher
  // drops them and execs the bundle.
  const bin = join(home, 'launch.sh');
  writeFileSync(bin, `#!/bin/sh\nunset NODE_OPTIONS\nexec '${file}' "$@"\n`, { mode: 0o755 });
  const version = await run(bin, ['version'], { env: env(), cwd: home });
  t.equal(version.stdout, 'nesting 9.8.7\n');

  const tartDir = join(home, 'tart');
  mkdirSync(join(tartDir, 'images', 'base'), { recursive: true });
  writeFileSync(join(home, 'config.json'), JSON.stringify({ tart_binary: STANDIN, wait_for_ssh: false }));
  const socket = join(home, 'nesting.sock');
  const standinEnv = env({ TART_STANDIN_DIR: tartDir, TART_STANDIN_IP: '127.92.2.1' });
  const daemon = spawn(bin, ['serve', '-hypervisor', 'tart', '-config', join(home, 'config.json'), '-socket', socket], { env: standinEnv, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    daemon.stdout.on('data', (d: Buffer) => (d.toString().includes('serving tart') ? resolve() : undefined));
    void exited.then((code) => reject(new Error(`serve exited (${code})`)));
  });
  const cli = (args: string[]): Promise<{ stdout: string }> => run(bin, [...args, '-socket', socket], { env: env(), cwd: home });
  await cli(['init']);
  const created = await cli(['create', 'base']);
  t.match(created.stdout, /^[0-9a-f]{12}\tbase\t127\.92\.2\.1:22\n$/);
  t.equal((await cli(['list'])).stdout, created.stdout);
  daemon.kill('SIGTERM');
  t.equal(await exited, 0);
});
