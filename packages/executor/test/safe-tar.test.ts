// safeTar in front of the system's GNU tar, as extractRemote puts it in front of an instance's `tar -x`.
import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeTar, type TarMember } from '@fleetrunner/common/tar';
import { safeTar, type SafeTarOptions } from '../src/files/index.js';

function work(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'safe-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Member = Omit<TarMember, 'type' | 'body'> & { type?: TarMember['type']; body?: string };

/** A tar archive of `members` (files by default). */
async function tarOf(members: Member[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const full = members.map((m): TarMember => {
    const body = Buffer.from(m.body ?? '');
    const type = m.type ?? 'file';
    return { ...m, type, size: type === 'file' ? body.length : 0, body: type === 'file' ? body : undefined };
  });
  for await (const c of writeTar(full)) parts.push(c);
  return Buffer.concat(parts);
}

/** Extracts `archive` through safeTar with GNU tar in `dest`; resolves to tar's exit code, rejects with safeTar's error. */
async function extract(archive: Buffer, dest: string, options: SafeTarOptions = {}): Promise<number | null> {
  mkdirSync(dest, { recursive: true });
  const tar = spawn('tar', ['-xf', '-', '--no-same-owner'], { cwd: dest, stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => tar.once('exit', resolve));
  try {
    await pipeline(safeTar(Readable.from([archive]), options), tar.stdin);
  } catch (err) {
    tar.kill();
    await exited;
    throw err;
  }
  return exited;
}

/** The member names of the archive safeTar makes of `archive`, in order (`tar -t`). */
async function listed(archive: Buffer, options: SafeTarOptions = {}): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const c of safeTar(Readable.from([archive]), options)) chunks.push(c as Buffer);
  return execFileSync('tar', ['-tf', '-'], { input: Buffer.concat(chunks), encoding: 'utf8' }).split('\n').filter(Boolean);
}

const REFUSED: { name: string; members: Member[]; options?: SafeTarOptions; error: RegExp }[] = [
  { name: 'a ".." name', members: [{ name: '../escape' }], error: /unsafe entry name "\.\.\/escape"/ },
  { name: 'a ".." inside a name', members: [{ name: 'a/../../escape' }], error: /unsafe entry name "a\/\.\.\/\.\.\/escape"/ },
  { name: 'an absolute name', members: [{ name: '/tmp/escape' }], error: /unsafe entry name "\/tmp\/escape"/ },
  { name: 'an absolute symlink', members: [{ name: 'l', type: 'symlink', linkname: '/etc' }], error: /symlink "l" points to the absolute path "\/etc"/ },
  { name: 'a symlink out of the directory', members: [{ name: 'a/l', type: 'symlink', linkname: '../..' }], error: /symlink "a\/l" points outside the destination/ },
  { name: 'a member below a symlink of the archive', members: [{ name: 'l', type: 'symlink', linkname: 'sub' }, { name: 'l/x' }], error: /entry "l\/x" lies below the symlink "l"/ },
  { name: 'a link over a directory of the archive', members: [{ name: 'd/x' }, { name: 'd', type: 'symlink', linkname: 'e' }], error: /link "d" replaces a directory of the same archive/ },
  { name: 'a hard link to a path the archive does not hold', members: [{ name: 'h', type: 'hardlink', linkname: 'etc/passwd' }], error: /hard link "h" points to "etc\/passwd", which is not a file of the same archive/ },
  { name: 'a hard link out of the directory', members: [{ name: 'h', type: 'hardlink', linkname: '../x' }], error: /unsafe entry name "\.\.\/x"/ },
];

t.test('unsafe members are refused, naming the member, before tar sees them', async (t) => {
  for (const c of REFUSED) {
    const dir = work(t);
    await t.rejects(extract(await tarOf(c.members), join(dir, 'dest'), c.options), { code: 'invalid_argument', message: c.error }, c.name);
    t.notOk(existsSync(join(dir, 'escape')), `${c.name}: nothing outside`);
  }
});

t.test('special files are refused', async (t) => {
  const dir = work(t);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  const archive = execFileSync('tar', ['-cf', '-', '-C', dir, 'fifo']);
  await t.rejects(extract(archive, join(dir, 'dest')), { message: /entry "fifo" is not a file, directory or link/ });
});

t.test('links come after every file and directory; parents are listed before their members', async (t) => {
  const names = await listed(await tarOf([{ name: 'a/l', type: 'symlink', linkname: 'f' }, { name: 'a/f', body: 'x' }, { name: 'b/c/g', body: 'y' }, { name: 'h', type: 'hardlink', linkname: 'a/f' }]));
  t.same(names, ['a/', 'a/f', 'b/', 'b/c/', 'b/c/g', 'a/l', 'h']);
});

t.test('a symlink planted by an earlier extraction is replaced by a directory, never followed', async (t) => {
  const dir = work(t);
  const dest = join(dir, 'dest');
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  mkdirSync(dest);
  symlinkSync(outside, join(dest, 'door'));
  symlinkSync('../outside', join(dest, 'rel'));
  t.equal(await extract(await tarOf([{ name: 'door/f', body: 'one' }, { name: 'rel/deep/g', body: 'two' }]), dest), 0);
  t.same(readdirSync(outside), [], 'nothing went through the links');
  t.ok(lstatSync(join(dest, 'door')).isDirectory(), 'the planted link is a directory now');
  t.equal(readFileSync(join(dest, 'door/f'), 'utf8'), 'one');
  t.equal(readFileSync(join(dest, 'rel/deep/g'), 'utf8'), 'two');
});

t.test('links chained over several extractions stay inside', async (t) => {
  const dir = work(t);
  const dest = join(dir, 'a', 'b', 'dest');
  // Each link stays inside where it is written; only following the first would let the second point out.
  t.equal(await extract(await tarOf([{ name: 'x', type: 'directory' }, { name: 'x/y', type: 'directory' }, { name: 'x/y/up', type: 'symlink', linkname: '..' }]), dest), 0);
  t.equal(await extract(await tarOf([{ name: 'x/y/up/up2', type: 'symlink', linkname: '../..' }]), dest), 0);
  t.equal(await extract(await tarOf([{ name: 'x/up2/PWNED', body: 'x' }]), dest), 0);
  t.notOk(existsSync(join(dir, 'a', 'b', 'PWNED')), 'nothing above the destination');
  t.ok(existsSync(join(dest, 'x/up2/PWNED')), 'the member landed where its name says');
});

t.test('caches and source trees keep their links as they are (confineLinks: false), still after the files', async (t) => {
  const dir = work(t);
  const dest = join(dir, 'dest');
  const archive = await tarOf([{ name: 'venv/bin/python', type: 'symlink', linkname: '/usr/bin/python3' }, { name: 'venv/pyvenv.cfg', body: 'home = /usr/bin\n' }, { name: 'up', type: 'symlink', linkname: '..' }]);
  await t.rejects(extract(archive, dest), { message: /points to the absolute path/ });
  t.equal(await extract(archive, dest, { confineLinks: false }), 0);
  t.equal(readFileSync(join(dest, 'venv/pyvenv.cfg'), 'utf8'), 'home = /usr/bin\n');
  t.ok(lstatSync(join(dest, 'venv/bin/python')).isSymbolicLink());
  t.ok(lstatSync(join(dest, 'up')).isSymbolicLink());
});

t.test('a tar made by GNU tar round-trips: modes, long names, hard links as links to their file', async (t) => {
  const dir = work(t);
  const src = join(dir, 'src');
  const long = `${'d'.repeat(80)}/${'e'.repeat(80)}/file.txt`;
  mkdirSync(join(src, long, '..'), { recursive: true });
  writeFileSync(join(src, long), 'long\n');
  writeFileSync(join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  execFileSync('ln', [join(src, 'run.sh'), join(src, 'again.sh')]);
  const archive = execFileSync('tar', ['-cf', '-', '-C', src, '.'], { maxBuffer: 1 << 24 });
  const dest = join(dir, 'dest');
  t.equal(await extract(archive, dest), 0);
  t.equal(readFileSync(join(dest, long), 'utf8'), 'long\n');
  t.equal(statSync(join(dest, 'run.sh')).mode & 0o777, 0o755);
  t.equal(statSync(join(dest, 'again.sh')).ino, statSync(join(dest, 'run.sh')).ino, 'the hard link links the extracted file');
});

t.test('a truncated or foreign stream fails', async (t) => {
  const dir = work(t);
  const good = await tarOf([{ name: 'a.txt', body: 'x'.repeat(3000) }]);
  await t.rejects(extract(good.subarray(0, 1200), join(dir, 'cut')), { message: /truncated/ });
  await t.rejects(extract(Buffer.alloc(2048, 0x41), join(dir, 'junk')), { message: /checksum/ });
});

t.test('the truncation error names the member it cut; a stream cut between members names the last whole one', async (t) => {
  const dir = work(t);
  const good = await tarOf([{ name: 'a.txt', body: 'x'.repeat(3000) }, { name: 'b.txt', body: 'y' }]);
  await t.rejects(extract(good.subarray(0, 1200), join(dir, 'cut')), { code: 'invalid_argument', message: /reading tar entry "a\.txt": the archive is truncated/ });
  await t.rejects(extract(good.subarray(0, 512 + 3072 + 100), join(dir, 'cut2')), { message: /after entry "a\.txt": the archive is truncated/ });
});

t.test('GNU and pax long names and link targets come through; the output is owned by root and reproducible', async (t) => {
  const dir = work(t);
  const src = join(dir, 'src');
  // One component over 100 bytes: no ustar prefix split can hold it, so GNU tar writes a long-name record (gnu) or
  // a pax path record (pax); the non-ASCII name needs pax in our output too.
  const long = `${'p'.repeat(60)}/${'q'.repeat(150)}.txt`;
  const accented = 'répertoire/fichier-é.txt';
  const target = `${'t'.repeat(120)}/x`;
  mkdirSync(join(src, 'p'.repeat(60)), { recursive: true });
  mkdirSync(join(src, 'répertoire'));
  writeFileSync(join(src, long), 'long\n');
  writeFileSync(join(src, accented), 'accent\n');
  symlinkSync(target, join(src, 'far'));
  for (const format of ['gnu', 'pax']) {
    const archive = execFileSync('tar', [`--format=${format}`, '--owner=1234', '--group=5678', '--mtime=@1700000000', '-cf', '-', '-C', src, long, accented, 'far'], { maxBuffer: 1 << 24 });
    const out: Buffer[] = [];
    for await (const c of safeTar(Readable.from([archive]), { confineLinks: false })) out.push(c as Buffer);
    const again: Buffer[] = [];
    for await (const c of safeTar(Readable.from([archive]), { confineLinks: false })) again.push(c as Buffer);
    t.ok(Buffer.concat(out).equals(Buffer.concat(again)), `${format}: the same input gives the same bytes`);
    const listing = execFileSync('tar', ['-tvf', '-', '--numeric-owner'], { input: Buffer.concat(out), encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    t.match(listing, `-rw-r--r-- 0/0               5 2023-11-14 22:13 ${long}`, `${format}: long name, root owner, mtime kept`);
    t.match(listing, ` ${accented}\n`, `${format}: non-ASCII name`);
    t.match(listing, `far -> ${target}`, `${format}: long link target`);
    t.notMatch(listing, /1234|5678/, `${format}: no owner of the source archive`);
    const dest = join(dir, `dest-${format}`);
    t.equal(await extract(archive, dest, { confineLinks: false }), 0);
    t.equal(readFileSync(join(dest, long), 'utf8'), 'long\n');
    t.equal(readFileSync(join(dest, accented), 'utf8'), 'accent\n');
  }
});
