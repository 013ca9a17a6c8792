import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { installCommand, listCommand, lookPath, errorKind, hostPlatform, bundleExportCommand, bundleImportCommand, installDir, type CommandIO } from '../src/index.js';
import { startRegistry, rawPushArtifact, pluginLayer, tmpDir } from '@fleetrunner/testing';

const host = hostPlatform();

function capture(tty = false): { io: CommandIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s), isTTY: tty } }, out, err };
}

t.test('install skips what is present, --upgrade fetches the newer match, list resolves per runner', async (t) => {
  const reg = await startRegistry(t);
  const dir = tmpDir(t, { prefix: 'fr-cmd' });
  await rawPushArtifact(reg, 'p/a', '1.0.0', [{ ...host, layer: pluginLayer(Buffer.from('a100')) }]);
  const ref = `${reg.host}/p/a:1`;
  const plugins = [
    { runner: 'first', plugin: ref },
    { runner: 'second', plugin: ref },
  ];
  const c1 = capture(true);
  const r1 = await installCommand({ plugins, pluginDir: dir, io: c1.io });
  t.equal(r1.exitCode, 0);
  const p100 = join(dir, reg.host, 'p', 'a', '1.0.0', 'plugin');
  t.same(c1.out, [`runner: first, plugin: ${ref}, path: ${p100}\n`, `runner: second, plugin: ${ref}, path: ${p100}\n`]);
  t.match(c1.err.join(''), /MiB \(100%\)/, 'progress line on a terminal');

  await rawPushArtifact(reg, 'p/a', '1.1.0', [{ ...host, layer: pluginLayer(Buffer.from('a110')) }]);
  const c2 = capture();
  await installCommand({ plugins, pluginDir: dir, io: c2.io });
  t.match(c2.out[0], /1\.0\.0\/plugin \(already installed\)/, 'no --upgrade: the installed match is kept');
  t.same(c2.err, [], 'no progress when not a terminal');
  const c3 = capture();
  const r3 = await installCommand({ plugins, pluginDir: dir, upgrade: true, io: c3.io });
  t.equal(r3.items[0]?.version, '1.1.0');
  t.ok(existsSync(p100), 'the old version stays');
  const c4 = capture();
  const r4 = await listCommand({ plugins: [...plugins, { runner: 'third', plugin: `${reg.host}/p/none` }], pluginDir: dir, io: c4.io });
  t.equal(r4.exitCode, 1);
  t.match(c4.out[0], /runner: first, .*1\.1\.0\/plugin\n$/);
  t.match(c4.err[0], /runner: third, plugin: .*, error: plugin ".*p\/none": no installed version/);

  const c5 = capture();
  t.equal((await installCommand({ plugins: [], io: c5.io })).exitCode, 0);
  t.same(c5.err, ['No plugins to install, review your runner configuration.\n']);
});

t.test('lookup: installed versions first, bare names on PATH, explicit paths, FLEETING_PLUGIN_PATH', async (t) => {
  const dir = tmpDir(t, { prefix: 'fr-look' });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const exe = (p: string): void => {
    writeFileSync(p, '#!/bin/sh\n');
    chmodSync(p, 0o755);
  };
  exe(join(bin, 'fleeting-plugin-x'));
  const root = join(dir, 'plugins');
  const found = await lookPath('fleeting-plugin-x', { pluginDir: root, pathEnv: bin });
  t.same(found, { path: join(bin, 'fleeting-plugin-x'), source: 'path' });
  const pinned = await lookPath('fleeting-plugin-x:1', { pluginDir: root, pathEnv: bin }).catch((e: unknown) => e);
  t.equal(errorKind(pinned), 'not_installed', 'a constraint means the registry artifact, not PATH');
  const home = join(root, 'registry.gitlab.com', 'gitlab-org', 'fleeting', 'plugins', 'fleeting-plugin-x');
  for (const v of ['1.0.0', '1.2.0', 'junk']) {
    mkdirSync(join(home, v), { recursive: true });
    exe(join(home, v, 'plugin'));
  }
  mkdirSync(join(home, '2.0.0'));
  t.equal((await lookPath('fleeting-plugin-x', { pluginDir: root, pathEnv: bin })).version, '1.2.0', 'installed wins; 2.0.0 has no plugin file');
  t.equal((await lookPath(join(bin, 'fleeting-plugin-x'))).source, 'path');
  exe(join(bin, 'Fleeting-Plugin-Y'));
  t.equal((await lookPath('Fleeting-Plugin-Y', { pluginDir: root, pathEnv: bin })).path, join(bin, 'Fleeting-Plugin-Y'), 'a file name that is no repository name still resolves on PATH');
  t.equal(errorKind(await lookPath('Nope-Y', { pluginDir: root, pathEnv: bin }).catch((e: unknown) => e)), 'bad_reference');
  t.equal(installDir({ FLEETING_PLUGIN_PATH: '/x/y' }), '/x/y');
  t.match(installDir({}), /\.config\/fleeting\/plugins$/);
});

t.test('bundle export / import moves installed plugins with their digests, refuses tampering', async (t) => {
  const reg = await startRegistry(t);
  const online = tmpDir(t, { prefix: 'fr-bundle' });
  const content = randomBytes(200_000);
  await rawPushArtifact(reg, 'b/one', '1.0.0', [{ ...host, layer: pluginLayer(content) }]);
  await rawPushArtifact(reg, 'b/two', '0.2.0', [{ ...host, layer: pluginLayer(Buffer.from('two')) }]);
  const refs = [`${reg.host}/b/one`, `${reg.host}/b/two:0.2`];
  await installCommand({ plugins: refs.map((plugin) => ({ runner: 'r', plugin })), pluginDir: online, io: capture().io });
  const file = join(online, 'plugins.tar.gz');
  const ex = capture();
  t.equal((await bundleExportCommand({ references: refs, file, pluginDir: online, io: ex.io })).exitCode, 0, ex.err.join(''));
  t.match(ex.out[0], new RegExp(`^${reg.host}/b/one:latest 1\\.0\\.0 sha256:[0-9a-f]{64}\\n$`));

  const airgap = tmpDir(t, { prefix: 'fr-airgap' });
  const im = capture();
  const r = await bundleImportCommand({ file, pluginDir: airgap, io: im.io });
  t.equal(r.exitCode, 0, im.err.join(''));
  t.same(r.items.map((i) => i.status), ['installed', 'installed']);
  t.same(readFileSync((await lookPath(`${reg.host}/b/one`, { pluginDir: airgap })).path), content);
  const record = JSON.parse(readFileSync(join(airgap, reg.host, 'b', 'one', '1.0.0', '.fleetrunner-install.json'), 'utf8')) as { layerDigest: string };
  t.match(record.layerDigest, /^sha256:/, 'registry digests travel with the bundle');
  const again = await bundleImportCommand({ file, pluginDir: airgap, io: capture().io });
  t.same(again.items.map((i) => i.status), ['present', 'present']);

  // Flip one byte of the first plugin's body inside the tarball.
  const tar = gunzipSync(readFileSync(file));
  const at = tar.indexOf(content.subarray(0, 64));
  tar[at + 10] = (tar[at + 10] ?? 0) ^ 0xff;
  const bad = join(online, 'bad.tar.gz');
  writeFileSync(bad, gzipSync(tar));
  const fresh = tmpDir(t, { prefix: 'fr-airgap' });
  const c = capture();
  const rb = await bundleImportCommand({ file: bad, pluginDir: fresh, io: c.io });
  t.equal(rb.exitCode, 1);
  t.match(c.err[0], /content has sha256 .* bundle\.json says/);
  t.notOk(existsSync(join(fresh, reg.host, 'b', 'one', '1.0.0')), 'tampered plugin not installed');
  t.notOk(readdirSync(join(fresh, reg.host, 'b', 'one')).some((n) => n.startsWith('.')), 'no temporary directory left');

  const notInstalled = await bundleExportCommand({ references: [`${reg.host}/b/three`], file: join(online, 'x.tgz'), pluginDir: online, io: capture().io });
  t.equal(notInstalled.exitCode, 1);
  t.notOk(existsSync(join(online, 'x.tgz')));
});
