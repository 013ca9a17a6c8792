import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeTar } from '@fleetrunner/common/tar';
import { listZip, tarFiles, tarToZipEntries, writeZipFile, zipFileToTar, zipStream } from '../src/index.js';

function work(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-archives-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A tar stream of `paths` in `dir`, made by the system's GNU tar (as an instance's `tar` would). */
function systemTar(dir: string, paths: string[]): Readable {
  const child = spawn('tar', ['-cf', '-', '--no-recursion', ...paths], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

/** A tar of `members` (file members carry `body`). */
async function tarOf(members: { name: string; type: 'file' | 'directory' | 'symlink'; mode: number; mtime: Date; body?: Buffer; linkname?: string }[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeTar(members.map((m) => ({ ...m, size: m.body?.length ?? 0 })))) parts.push(c);
  return Buffer.concat(parts);
}

const LONG = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/file-with-a-long-name.txt`;

function tree(dir: string): void {
  mkdirSync(join(dir, 'out/sub'), { recursive: true });
  mkdirSync(join(dir, LONG, '..'), { recursive: true });
  writeFileSync(join(dir, 'out/a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'out/sub/big.bin'), Buffer.alloc(300_000, 7));
  writeFileSync(join(dir, 'out/run.sh'), '#!/bin/sh\necho run\n', { mode: 0o755 });
  writeFileSync(join(dir, 'out/empty'), '');
  writeFileSync(join(dir, LONG), 'long name\n');
  symlinkSync('a.txt', join(dir, 'out/link'));
}

const FILES = ['out/a.txt', 'out/sub/big.bin', 'out/run.sh', 'out/empty', 'out/link', LONG];

t.test('a tar from the instance becomes a zip GitLab Runner would write, and the zip comes back as a tar', async (t) => {
  const dir = work(t);
  const src = join(dir, 'src');
  tree(src);
  const zip = join(dir, 'a.zip');
  const skipped: string[] = [];
  await writeZipFile(zip, tarToZipEntries(systemTar(src, FILES), skipped));
  t.same(skipped, []);
  const entries = await listZip(zip);
  const names = entries.map((e) => e.name);
  t.same(names.filter((n) => n.endsWith('/')).sort(), ['deep/', `deep/${'d'.repeat(60)}/`, `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/`, 'out/', 'out/sub/'], 'parent directories are listed, each once');
  t.ok(names.indexOf('out/') < names.indexOf('out/a.txt'), 'a directory comes before its files');
  t.ok(names.includes(LONG), 'a name past 100 bytes survives');
  t.equal((entries.find((e) => e.name === 'out/run.sh')!.mode & 0o777).toString(8), '755');
  t.ok(entries.find((e) => e.name === 'out/link')!.isSymlink);
  execFileSync('unzip', ['-tq', zip]);
  execFileSync('python3', ['-m', 'zipfile', '-t', zip]);

  const back = join(dir, 'back');
  mkdirSync(back);
  const untar = spawn('tar', ['-xf', '-'], { cwd: back, stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => untar.once('exit', resolve));
  await pipeline(zipFileToTar(zip), untar.stdin);
  t.equal(await exited, 0, 'GNU tar reads the tar made from the zip');
  t.equal(readFileSync(join(back, 'out/a.txt'), 'utf8'), 'alpha\n');
  t.ok(readFileSync(join(back, 'out/sub/big.bin')).equals(Buffer.alloc(300_000, 7)));
  t.equal(statSync(join(back, 'out/run.sh')).mode & 0o777, 0o755);
  t.equal(statSync(join(back, 'out/empty')).size, 0);
  t.ok(lstatSync(join(back, 'out/link')).isSymbolicLink());
  t.equal(readlinkSync(join(back, 'out/link')), 'a.txt');
  t.equal(readFileSync(join(back, LONG), 'utf8'), 'long name\n');
});

t.test('zipFileToTar removes the downloaded zip when asked, also when the reader stops early', async (t) => {
  const dir = work(t);
  const zip = join(dir, 'b.zip');
  await writeZipFile(zip, [{ name: 'x.txt', data: 'x' }, { name: 'y.txt', data: Buffer.alloc(200_000, 1) }]);
  const tar = zipFileToTar(zip, { removeAfter: true });
  tar.read(0);
  await new Promise<void>((resolve) => tar.once('readable', () => resolve()));
  tar.destroy();
  await new Promise<void>((resolve) => tar.once('close', () => resolve()));
  t.notOk(existsSync(zip));
});

t.test('tarFiles yields the regular files with their bodies; a truncated tar is an error', async (t) => {
  const body = Buffer.from('content\n');
  const tar = await tarOf([
    { name: 'd', type: 'directory', mode: 0o755, mtime: new Date(0) },
    { name: 'd/f.txt', type: 'file', mode: 0o644, mtime: new Date(0), body },
  ]);
  const got: [string, string][] = [];
  for await (const f of tarFiles(Readable.from([tar]))) {
    const parts: Buffer[] = [];
    for await (const c of f.body) parts.push(c);
    got.push([f.name, Buffer.concat(parts).toString()]);
  }
  t.same(got, [['d/f.txt', 'content\n']]);
  const truncated = tar.subarray(0, 512 * 2 + 3);
  await t.rejects(async () => {
    for await (const f of tarFiles(Readable.from([truncated]))) for await (const _ of f.body) void _;
  }, { code: 'invalid_argument', message: /reading tar entry "d\/f\.txt": the archive is truncated/, details: { tar: 'truncated' } });
  await t.rejects(async () => {
    for await (const f of tarFiles(Readable.from([Buffer.alloc(1024, 0x41)]))) void f;
  }, { code: 'invalid_argument', message: /not a tar archive/ }, 'a stream that is not a tar says so');
  const boom = async function* (): AsyncGenerator<Buffer> {
    yield tar.subarray(0, 512);
    throw new Error('the instance\'s tar exited with status 2');
  };
  await t.rejects(async () => {
    for await (const f of tarFiles(boom())) for await (const _ of f.body) void _;
  }, { message: "the instance's tar exited with status 2" }, 'an error of the source passes through as it is');
});

t.test('members a reader leaves unread are skipped, and the zip of a tar streams members one at a time', async (t) => {
  const big = Buffer.alloc(3 << 20, 9);
  const tar = await tarOf([
    { name: 'a.bin', type: 'file', mode: 0o644, mtime: new Date(0), body: big },
    { name: 'b.txt', type: 'file', mode: 0o644, mtime: new Date(0), body: Buffer.from('bee\n') },
  ]);
  const names: string[] = [];
  for await (const f of tarFiles(Readable.from([tar.subarray(0, 4096), tar.subarray(4096)]))) names.push(f.name);
  t.same(names, ['a.bin', 'b.txt'], 'the unread body of a.bin was skipped');

  // Fed in 64 KiB pieces, the tar is pulled only as the zip writer needs it: never more than a few pieces ahead.
  let fed = 0;
  let written = 0;
  let ahead = 0;
  const pieces = async function* (): AsyncGenerator<Buffer> {
    for (let at = 0; at < tar.length; at += 64 * 1024) {
      fed += Math.min(64 * 1024, tar.length - at);
      ahead = Math.max(ahead, fed - written);
      yield tar.subarray(at, at + 64 * 1024);
    }
  };
  const out: Buffer[] = [];
  for await (const c of zipStream(tarToZipEntries(pieces()), { level: 0 })) {
    written += c.length;
    out.push(c);
  }
  t.equal(fed, tar.length);
  t.ok(ahead < 2 << 20, `the tar was read at most ${ahead} bytes ahead of the zip (of ${tar.length})`);
  const dir = work(t);
  writeFileSync(join(dir, 'x.zip'), Buffer.concat(out));
  t.same((await listZip(join(dir, 'x.zip'))).map((e) => [e.name, e.size]), [['a.bin', big.length], ['b.txt', 4]]);
});

t.test('the tar made from a zip: pax records for long names and link targets, read back by GNU tar', async (t) => {
  const dir = work(t);
  const name = `${'n'.repeat(120)}/${'m'.repeat(90)}.txt`;
  const target = `${'t'.repeat(150)}`;
  const zip = join(dir, 'long.zip');
  const mtime = new Date(1_700_000_000_000);
  await writeZipFile(zip, [
    { name, data: 'hi', mode: 0o100600, mtime },
    { name: 'l', symlinkTarget: target, mtime },
  ]);
  const tar = join(dir, 'x.tar');
  await pipeline(zipFileToTar(zip), createWriteStream(tar));
  const listing = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  t.match(listing, `-rw------- 0/0               2 2023-11-14 22:13 ${name}`);
  t.match(listing, `l -> ${target}`);
});

t.test('zipFileToTar refuses a zip whose members declare more than the cap, before a byte; and one that lies about a size', async (t) => {
  const dir = work(t);
  const zip = join(dir, 'big.zip');
  await writeZipFile(zip, [{ name: 'a.bin', data: Buffer.alloc(3000, 1) }, { name: 'b.bin', data: Buffer.alloc(3000, 2) }]);
  const chunks: Buffer[] = [];
  await t.rejects(
    async () => {
      for await (const c of zipFileToTar(zip, { maxBytes: 5000 })) chunks.push(c as Buffer);
    },
    { code: 'invalid_argument', message: /expands to 6000 bytes, over the limit of 5000 bytes/ },
  );
  t.same(chunks, [], 'nothing was sent');
  const small = join(dir, 'small.zip');
  await writeZipFile(small, [{ name: 'c.bin', data: Buffer.alloc(100_000, 3) }]);
  const bytes = readFileSync(small);
  // Make the central directory claim 10 bytes.
  const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt32LE(10, cd + 24);
  writeFileSync(small, bytes);
  let sent = 0;
  await t.rejects(
    async () => {
      for await (const c of zipFileToTar(small)) sent += (c as Buffer).length;
    },
    { message: /c\.bin: more data than its recorded size of 10 bytes/ },
  );
  t.ok(sent < 512 + 64 * 1024, `stopped at once (${sent} bytes sent)`);
});

t.test('the artifact spool directory is this process\'s own: fresh, 0700, removed at exit', async (t) => {
  const tmp = work(t);
  // A directory someone else made where an older version put its spool files.
  mkdirSync(join(tmp, 'fleetrunner-artifacts'), { mode: 0o777 });
  const module = new URL('../src/artifact-spool.js', import.meta.url).href;
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import { artifactSpoolDir } from ${JSON.stringify(module)}; import { statSync } from 'node:fs'; const d = await artifactSpoolDir(); console.log(JSON.stringify({ d, mode: statSync(d).mode & 0o777, again: await artifactSpoolDir() }));`],
    { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' },
  );
  const got = JSON.parse(out) as { d: string; mode: number; again: string };
  t.not(got.d, join(tmp, 'fleetrunner-artifacts'), 'not the directory that was there');
  t.match(got.d, new RegExp(`^${tmp}/fleetrunner-artifacts-\\w{6}$`));
  t.equal(got.mode, 0o700);
  t.equal(got.again, got.d, 'one per process');
  t.notOk(existsSync(got.d), 'removed when the process exited');
});
