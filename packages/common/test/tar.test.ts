// The shared tar reader and writer against GNU tar, in each format it writes.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTar, safeTarPath, tarErrorKind, writeTar, type TarHeader, type TarMember } from '../src/tar.js';

function work(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'common-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function chunked(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return parts;
}

/** Every member with its body; bodies of names containing `skip` are left unread. */
async function list(source: AsyncIterable<Uint8Array>): Promise<{ header: TarHeader; body: Buffer | undefined }[]> {
  const out: { header: TarHeader; body: Buffer | undefined }[] = [];
  for await (const e of readTar(source)) {
    if (e.header.name.includes('skip')) {
      out.push({ header: e.header, body: undefined });
      continue;
    }
    const parts: Buffer[] = [];
    for await (const c of e.body) parts.push(c);
    out.push({ header: e.header, body: Buffer.concat(parts) });
  }
  return out;
}

async function tarOf(members: Iterable<TarMember> | AsyncIterable<TarMember>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeTar(members)) parts.push(c);
  return Buffer.concat(parts);
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

t.test('reads what GNU tar writes in each format, in odd chunks, skipping unread bodies', async (t) => {
  const dir = work(t);
  const long = 'd'.repeat(120) + '/' + 'f'.repeat(150) + '.txt';
  mkdirSync(join(dir, 'd'.repeat(120)));
  writeFileSync(join(dir, long), 'long name content');
  writeFileSync(join(dir, 'small.txt'), 'hello');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(70_000, 7));
  writeFileSync(join(dir, 'skip-me'), Buffer.alloc(3000, 1));
  symlinkSync('small.txt', join(dir, 'link'));
  for (const format of ['gnu', 'oldgnu', 'pax', 'ustar', 'v7']) {
    const names = format === 'ustar' || format === 'v7' ? ['small.txt', 'big.bin', 'skip-me', 'link'] : ['small.txt', 'big.bin', 'skip-me', 'link', long];
    const archive = execFileSync('tar', ['-cf', '-', `--format=${format}`, '--mtime=@1700000000', '-C', dir, ...names], { maxBuffer: 1 << 24 });
    const seen = await list(Readable.from(chunked(archive, 777)));
    t.same(
      seen.map((e) => [e.header.name, e.header.type, e.body?.length]),
      [['small.txt', 'file', 5], ['big.bin', 'file', 70_000], ['skip-me', 'file', undefined], ['link', 'symlink', 0], ...(names.includes(long) ? [[long, 'file', 17]] : [])],
      format,
    );
    t.equal(seen[0]?.body?.toString(), 'hello', `${format}: content`);
    t.ok(seen[1]?.body?.equals(Buffer.alloc(70_000, 7)), `${format}: big content`);
    t.equal(seen[3]?.header.linkname, 'small.txt', `${format}: link target`);
    t.equal(seen[0]?.header.mtime.getTime(), 1_700_000_000_000, `${format}: mtime`);
  }
});

t.test('the source is read to its end, past the end-of-archive marker and record padding', async (t) => {
  const dir = work(t);
  writeFileSync(join(dir, 'a'), 'a');
  const archive = execFileSync('tar', ['-cf', '-', '-C', dir, 'a']);
  t.equal(archive.length, 10240, 'GNU tar pads to a 10 KiB record');
  let read = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for (const c of chunked(archive, 1000)) {
      read += c.length;
      yield c;
    }
  }
  t.same((await list(counted())).map((e) => e.header.name), ['a']);
  t.equal(read, archive.length);
});

t.test('what writeTar writes GNU tar reads as written: long and non-ASCII names, long link targets, modes, owners', async (t) => {
  const dir = work(t);
  const long = `${'p'.repeat(60)}/${'q'.repeat(150)}.txt`; // a component over 100 bytes: only a pax record holds it
  const split = `${'a'.repeat(90)}/${'b'.repeat(90)}.txt`; // fits the ustar prefix field
  const accented = 'répertoire/é.txt';
  const target = 't'.repeat(150);
  const members: TarMember[] = [
    { name: 'répertoire', type: 'directory' },
    { name: long, type: 'file', size: 4, body: Buffer.from('long'), mode: 0o600, mtime: new Date(1_700_000_000_500) },
    { name: split, type: 'file', size: 5, body: Readable.from([Buffer.from('sp'), Buffer.from('lit')]) },
    { name: accented, type: 'file', size: 0, mode: 0 },
    { name: 'far', type: 'symlink', linkname: target },
    { name: 'again', type: 'hardlink', linkname: split },
  ];
  const archive = await tarOf(members);
  t.ok(archive.equals(await tarOf(members.map((m) => (m.name === split ? { ...m, body: Buffer.from('split') } : m)))), 'the same members give the same bytes');
  t.equal(archive.length % 512, 0);
  t.ok(archive.subarray(-1024).every((b) => b === 0), 'ends with the end-of-archive marker');
  const listing = execFileSync('tar', ['-tvf', '-', '--numeric-owner'], { input: archive, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  t.same(
    listing.split('\n').filter(Boolean),
    [
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 répertoire/',
      `-rw------- 0/0               4 2023-11-14 22:13 ${long}`,
      `-rw-r--r-- 0/0               5 1970-01-01 00:00 ${split}`,
      `---------- 0/0               0 1970-01-01 00:00 ${accented}`,
      `lrwxrwxrwx 0/0               0 1970-01-01 00:00 far -> ${target}`,
      `hrwxrwxrwx 0/0               0 1970-01-01 00:00 again link to ${split}`,
    ],
  );
  execFileSync('tar', ['-xf', '-', '-C', dir], { input: archive });
  const back = await list(Readable.from(chunked(archive, 100)));
  t.same(
    back.map((e) => [e.header.name, e.header.type, e.header.mode, e.header.linkname, e.body?.toString()]),
    [
      ['répertoire/', 'directory', 0o755, '', ''],
      [long, 'file', 0o600, '', 'long'],
      [split, 'file', 0o644, '', 'split'],
      [accented, 'file', 0, '', ''],
      ['far', 'symlink', 0o777, target, ''],
      ['again', 'hardlink', 0o777, split, ''],
    ],
  );
  t.ok(archive.includes(Buffer.from(` path=${long}\n`)), 'the long name went into a pax record');
});

t.test('a truncated archive, a foreign stream and an oversized pax record are refused with the reason', async (t) => {
  const archive = await tarOf([
    { name: 'a.bin', type: 'file', size: 1500, body: Buffer.alloc(1500, 1) },
    { name: 'b.bin', type: 'file', size: 10, body: Buffer.alloc(10, 2) },
  ]);
  const cases: [number, RegExp][] = [
    [100, /^reading tar archive: the archive is truncated/],
    [512 + 700, /^reading tar entry "a\.bin": the archive is truncated/],
    [512 + 1536 + 300, /^reading tar archive after entry "a\.bin": the archive is truncated/],
  ];
  for (const [cut, message] of cases) {
    const err = await failure(list(Readable.from(chunked(archive.subarray(0, cut), 333))));
    t.equal(tarErrorKind(err), 'truncated', `cut at ${cut}`);
    t.match((err as Error).message, message, `cut at ${cut}`);
  }
  const junk = await failure(list(Readable.from([Buffer.alloc(2048, 0x41)])));
  t.equal(tarErrorKind(junk), 'not_tar');
  t.match((junk as Error).message, /not a tar archive, or corrupted \(header checksum mismatch\)/);
  // A pax header announcing 5 MiB of records: refused from its header, before they are buffered.
  const pax = Buffer.from(await tarOf([{ name: 'x', type: 'file', size: 0 }])).subarray(0, 512);
  pax.write('00024000000\0', 124, 'ascii'); // size 5 MiB in octal
  pax[156] = 0x78; // 'x'
  pax.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of pax) sum += b;
  pax.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const big = await failure(list(Readable.from([pax, Buffer.alloc(5 << 20)])));
  t.equal(tarErrorKind(big), 'too_large');
  t.match((big as Error).message, /pax or GNU long-name record is over 4 MiB/);
});

t.test('writeTar refuses a body whose length differs from its size, and passes on an error of its members', async (t) => {
  const short = await failure(tarOf([{ name: 'x', type: 'file', size: 5, body: Buffer.from('ab') }]));
  t.equal(tarErrorKind(short), 'size_mismatch');
  t.match((short as Error).message, 'tar member "x": 2 bytes for a declared size of 5');
  const long = await failure(tarOf([{ name: 'y', type: 'file', size: 1, body: Readable.from([Buffer.from('ab')]) }]));
  t.equal(tarErrorKind(long), 'size_mismatch');
  async function* failing(): AsyncGenerator<TarMember> {
    yield { name: 'ok', type: 'file', size: 1, body: Buffer.from('1') };
    throw new Error('member list broke');
  }
  t.match(await failure(tarOf(failing())), { message: 'member list broke' });
});

t.test('stopping early ends the reader; with closeSource the source stream is destroyed', async (t) => {
  const archive = await tarOf([
    { name: 'a', type: 'file', size: 100_000, body: Buffer.alloc(100_000) },
    { name: 'b', type: 'file', size: 1, body: Buffer.from('b') },
  ]);
  for (const closeSource of [false, true]) {
    const source = Readable.from(chunked(archive, 4096));
    for await (const e of readTar(source, { closeSource })) {
      t.equal(e.header.name, 'a');
      break;
    }
    t.equal(source.destroyed, closeSource, `closeSource ${closeSource}`);
    source.destroy();
  }
});

t.test('safeTarPath normalizes names and refuses those that leave the directory', async (t) => {
  const cases: [string, string | undefined][] = [
    ['plugin', 'plugin'],
    ['./plugin', 'plugin'],
    ['a//b/./c/', 'a/b/c'],
    ['./', ''],
    ['../plugin', undefined],
    ['a/../../b', undefined],
    ['/etc/passwd', undefined],
    ['C:/x', undefined],
    ['a\\..\\b', undefined],
    ['a\0b', undefined],
  ];
  for (const [name, want] of cases) {
    if (want !== undefined) t.equal(safeTarPath(name), want, name);
    else t.equal(tarErrorKind(failureSync(() => safeTarPath(name))), 'unsafe_name', name);
  }
});

function failureSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
