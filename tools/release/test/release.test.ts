import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { runConformance, runPlugin } from '@fleetrunner/fleeting';
import { installCommand, type CommandIO } from '@fleetrunner/installer';
import { startRegistry, tmpDir } from '@fleetrunner/testing';
import { releasePlugin } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const LOCAL = join(ROOT, 'plugins', 'local');
const SUBNET = '127.110.0.0/16';
const run = promisify(execFile);

/** Directories from `dir` up to `/` that hold a node_modules. */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(d);
    if (dirname(d) === d) return found;
  }
}

function collectingIO(): CommandIO & { text(): string } {
  let text = '';
  const w = { write: (s: string) => (text += s) };
  return { out: w, err: w, text: () => text };
}

/** `argv` of each instance process recorded in a local plugin state dir. */
function instanceCommandLines(stateDir: string): string[][] {
  const dir = join(stateDir, 'instances');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((id) => {
    try {
      const rec = JSON.parse(readFileSync(join(dir, id, 'instance.json'), 'utf8')) as { pid?: unknown };
      return typeof rec.pid === 'number' ? [readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean)] : [];
    } catch {
      return [];
    }
  });
}

t.test('plugins/local, released to a registry and installed, passes conformance with no node_modules around it', async (t) => {
  const registry = (await startRegistry(t)).host;
  const out = tmpDir(t, { prefix: 'fr-release-out' });
  const version = '9.8.7';
  const released = await releasePlugin(LOCAL, { registry, version, build: false, outDir: out, onStep: (line) => t.comment(line) });
  t.equal(released.target, `${registry}/fleetrunner/plugins/local:${version}`);
  t.same(released.published?.platforms.map((p) => `${p.platform.os}/${p.platform.architecture}`).sort(), ['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64']);
  t.ok(released.bundle.nativeLeftOut.some((n) => n.startsWith('cpu-features')), 'ssh2 cpu-features probe left out');
  t.ok(released.bundle.nativeLeftOut.some((n) => n.includes('sshcrypto.node')), 'ssh2 native crypto left out');

  await t.rejects(
    releasePlugin(LOCAL, { registry, version, build: false, outDir: tmpDir(t) }),
    { code: 'invalid_argument', details: { kind: 'already_published' }, message: /local:9\.8\.7 is already published/ },
    'a published version is not overwritten',
  );

  const pluginDir = tmpDir(t, { prefix: 'fr-release-plugins' });
  const io = collectingIO();
  const installed = await installCommand({ plugins: [{ runner: 'release-test', plugin: `${registry}/fleetrunner/plugins/local:9.8` }], pluginDir, io });
  t.equal(installed.exitCode, 0, io.text());
  const installedPath = installed.items[0]?.path ?? '';
  t.equal(installed.items[0]?.version, version);
  t.equal(readFileSync(installedPath, 'utf8'), readFileSync(released.bundle.file, 'utf8'), 'the installed plugin is the bundle');

  // A directory of its own, with nothing to resolve modules from above it.
  const bare = tmpDir(t, { prefix: 'fr-release-bare' });
  const plugin = join(bare, 'plugin');
  copyFileSync(installedPath, plugin);
  chmodSync(plugin, 0o755);
  t.same(nodeModulesAbove(bare), [], 'no node_modules from the plugin up to /');
  // tap hands its process-tracking hooks to every child through NODE_OPTIONS, and with them Node loads an
  // extensionless ES module as CommonJS. A runner has no such hooks: this launcher drops them and execs the plugin,
  // so the process under test is the plugin itself.
  const launcher = join(bare, 'launch.sh');
  writeFileSync(launcher, `#!/bin/sh\nunset NODE_OPTIONS\nexec '${plugin}' "$@"\n`, { mode: 0o755 });
  const { stdout } = await run(launcher, ['-version'], { cwd: bare, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  t.match(stdout, /^Version:\s+9\.8\.7$/m, '-version reports the released version');

  const cwd = process.cwd();
  process.chdir(bare);
  t.teardown(() => process.chdir(cwd));
  const stateDir = tmpDir(t, { prefix: 'fr-release-state' });
  const p = await runPlugin(launcher, { name: 'local-released' });
  t.teardown(() => p.stop());
  // The suite's poll sleeps are unref'ed; keep this test process alive while it waits on the instances.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  let argvs: string[][] = [];
  const report = await runConformance(p.group, {
    pluginConfig: { state_dir: stateDir, subnet: SUBNET },
    timeoutMs: 60_000,
    pollIntervalMs: 50,
    onCheck: (c) => {
      if (c.name === 'instances become running') argvs = instanceCommandLines(stateDir);
    },
  });
  for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
  t.ok(report.passed);
  t.equal(report.provider?.version, version, 'provider info carries the released version');
  t.equal(argvs.length, 2, 'two instances were running');
  for (const argv of argvs) t.same(argv.slice(1, 4), [plugin, '--fleetrunner-entry', 'instance'], 'instance servers run from the bundle itself');
});
