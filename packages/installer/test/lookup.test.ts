import t from 'tap';
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorKind, installCommand, listCommand, lookPath, pathBinaryName, type CommandIO } from '../src/index.js';
import { tmpDir } from '@fleetrunner/testing';

function exe(p: string): string {
  writeFileSync(p, '#!/bin/sh\n');
  chmodSync(p, 0o755);
  return p;
}

function capture(): { io: CommandIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s) } }, out, err };
}

t.test('a bare name is the installed plugin, then fleeting-plugin-<name> on PATH, never the <name> program', async (t) => {
  const dir = tmpDir(t, { prefix: 'fr-lookup' });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const root = join(dir, 'plugins');
  exe(join(bin, 'aws'));
  const o = { pluginDir: root, pathEnv: bin };

  const missing = await lookPath('aws', o).catch((e: unknown) => e);
  t.equal(errorKind(missing), 'not_installed', 'the AWS CLI on PATH is not the aws plugin');
  t.match(missing, {
    message: /^plugin "aws": no installed version of registry\.gitlab\.com\/gitlab-org\/fleeting\/plugins\/aws:latest under .* and no fleeting-plugin-aws on PATH; install it with "runner fleeting install"$/,
  });
  t.match(await lookPath('aws', { ...o, installHint: 'install it with "runner fleeting install --config /etc/c.toml"' }).catch((e: unknown) => e), {
    message: /; install it with "runner fleeting install --config \/etc\/c\.toml"$/,
  });

  const onPath = exe(join(bin, 'fleeting-plugin-aws'));
  t.same(await lookPath('aws', o), { path: onPath, source: 'path' }, 'fleeting-plugin-aws on PATH');
  t.same(await lookPath('fleeting-plugin-aws', o), { path: onPath, source: 'path' }, 'the binary name as upstream documents it');
  t.equal(errorKind(await lookPath('aws:1', o).catch((e: unknown) => e)), 'not_installed', 'a constraint means an installed version, not PATH');

  const home = join(root, 'registry.gitlab.com', 'gitlab-org', 'fleeting', 'plugins', 'aws', '1.2.0');
  mkdirSync(home, { recursive: true });
  const installed = exe(join(home, 'plugin'));
  t.same(await lookPath('aws', o), { path: installed, source: 'installed', version: '1.2.0' }, 'the installed plugin comes first');
  t.same(await lookPath('local', { ...o, builtin: { local: '/embedded/plugin.js' } }), { path: '/embedded/plugin.js', source: 'builtin' });

  t.equal(pathBinaryName('aws'), 'fleeting-plugin-aws');
  t.equal(pathBinaryName('Fleeting-Plugin-Aws'), 'Fleeting-Plugin-Aws');
});

t.test('a reference with a slash that names an executable file is taken as given', async (t) => {
  const dir = realpathSync(tmpDir(t, { prefix: 'fr-lookup-path' }));
  const file = exe(join(dir, 'my-plugin'));
  t.same(await lookPath(file), { path: file, source: 'path' });
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  mkdirSync('sub');
  const nested = exe(join(dir, 'sub', 'my-plugin'));
  t.same(await lookPath('sub/my-plugin'), { path: nested, source: 'path' }, 'relative, without ./');
  t.same(await lookPath('./sub/my-plugin'), { path: nested, source: 'path' });
  t.equal(errorKind(await lookPath(join(dir, 'absent')).catch((e: unknown) => e)), 'not_installed');
});

t.test('fleeting list and install agree with the lookup (builtin, PATH, missing)', async (t) => {
  const dir = tmpDir(t, { prefix: 'fr-lookup-cmd' });
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  exe(join(bin, 'aws'));
  const gcp = exe(join(bin, 'fleeting-plugin-googlecloud'));
  const lookup = { pluginDir: join(dir, 'plugins'), pathEnv: bin, builtin: { local: '/embedded/plugin.js' }, installHint: 'install it with "runner fleeting install --config c.toml"' };
  const plugins = [
    { runner: 'a', plugin: 'local' },
    { runner: 'b', plugin: 'googlecloud' },
    { runner: 'c', plugin: 'aws' },
  ];
  const list = capture();
  t.equal((await listCommand({ plugins, io: list.io, ...lookup })).exitCode, 1);
  t.same(list.out, ['runner: a, plugin: local, path: /embedded/plugin.js\n', `runner: b, plugin: googlecloud, path: ${gcp}\n`]);
  t.match(list.err, [/^runner: c, plugin: aws, error: .*no fleeting-plugin-aws on PATH; install it with "runner fleeting install --config c\.toml"\n$/]);

  const install = capture();
  const r = await installCommand({ plugins: plugins.slice(0, 1), io: install.io, upgrade: true, ...lookup });
  t.equal(r.exitCode, 0);
  t.same(install.out[0], 'runner: a, plugin: local, path: /embedded/plugin.js (already installed)\n', 'the embedded plugin never comes from a registry, even with --upgrade');
  const present = capture();
  await installCommand({ plugins: plugins.slice(1, 2), io: present.io, ...lookup });
  t.same(present.out, [`runner: b, plugin: googlecloud, path: ${gcp} (already installed)\n`], 'what runner run would start counts as installed');
});
