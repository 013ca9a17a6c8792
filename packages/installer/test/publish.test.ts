import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageCommand, publishCommand, install, hostPlatform, readDistLayout, type CommandIO } from '../src/index.js';
import { startRegistry, tmpDir } from '@fleetrunner/testing';

const host = hostPlatform();

function capture(): { io: CommandIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s) } }, out, err };
}

t.test('a third-party native plugin: Go-style file names → dist layout → publish → install and run', async (t) => {
  const reg = await startRegistry(t);
  const work = tmpDir(t, { prefix: 'fr-pub' });
  const out = join(work, 'out');
  mkdirSync(out);
  // A real native executable of this host stands in for the plugin binary; other platforms get their own headers.
  copyFileSync('/bin/true', join(out, `fleeting-plugin-demo-linux-${host.architecture}`));
  const elfArm = Buffer.alloc(64);
  elfArm.writeUInt32BE(0x7f454c46, 0);
  elfArm[5] = 1;
  elfArm.writeUInt16LE(40, 18);
  writeFileSync(join(out, 'fleeting-plugin-demo-linux-arm'), elfArm);
  const pe = Buffer.alloc(256);
  pe.write('MZ', 0);
  pe.writeUInt32LE(128, 0x3c);
  pe.writeUInt32BE(0x50450000, 128);
  pe.writeUInt16LE(0x8664, 132);
  writeFileSync(join(out, 'fleeting-plugin-demo-windows-amd64.exe'), pe);
  writeFileSync(join(out, 'release.sha256'), 'not a binary');
  const dist = join(work, 'dist');
  const pk = capture();
  t.equal((await packageCommand({ fromDir: out, out: dist, io: pk.io })).exitCode, 0, pk.err.join(''));
  t.same(
    (await readDistLayout(dist)).map((f) => f.path.slice(dist.length + 1)),
    [`linux/${host.architecture}/plugin`, 'linux/armv7/plugin', 'windows/amd64/plugin.exe'].sort(),
  );
  const pub = capture();
  t.equal((await publishCommand({ dir: dist, target: `${reg.host}/third/demo:1.4.2`, io: pub.io })).exitCode, 0, pub.err.join(''));
  t.match(pub.out[0], new RegExp(`^${reg.host}/third/demo:1\\.4\\.2@sha256:[0-9a-f]{64}\\n$`));
  const r = await install(`${reg.host}/third/demo:1.4`, { pluginDir: join(work, 'plugins') });
  execFileSync(r.path);
  t.pass('the installed binary runs');
  const arm = await install(`${reg.host}/third/demo`, { pluginDir: join(work, 'arm'), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
  t.same(readFileSync(arm.path), elfArm, 'armv7 maps to arm/v7');
  const win = await install(`${reg.host}/third/demo`, { pluginDir: join(work, 'win'), platform: { os: 'windows', architecture: 'amd64' } });
  t.match(win.path, /plugin\.exe$/);
  t.same(readFileSync(win.path), pe, 'Windows layers keep the binary under Files/');
});

t.test('package refuses mismatched binaries and foreign directories', async (t) => {
  const work = tmpDir(t, { prefix: 'fr-pkg' });
  const c = capture();
  const r = await packageCommand({ binaries: ['darwin/arm64=/bin/true'], out: join(work, 'dist'), io: c.io });
  t.equal(r.exitCode, 1);
  t.match(c.err[0], /cannot be the plugin for darwin\/arm64: a ELF binary/);
  writeFileSync(join(work, 'x.js'), 'console.log(1)\n');
  const c2 = capture();
  t.equal((await packageCommand({ script: join(work, 'x.js'), out: join(work, 'dist'), io: c2.io })).exitCode, 1);
  t.match(c2.err[0], /must start with a shebang/);
  mkdirSync(join(work, 'src'));
  writeFileSync(join(work, 'src', 'important.txt'), 'keep');
  writeFileSync(join(work, 'y.js'), '#!/usr/bin/env node\n');
  const c3 = capture();
  t.equal((await packageCommand({ script: join(work, 'y.js'), out: work, io: c3.io })).exitCode, 1);
  t.match(c3.err[0], /refusing to clear/);
  t.equal(readFileSync(join(work, 'src', 'important.txt'), 'utf8'), 'keep');
});
