import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, lstatSync, readlinkSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, constants as zc } from 'node:zlib';
import { readTar } from '@fleetrunner/common/tar';
import { Readable } from 'node:stream';
import { writeZipFile, listZip, extractZip, directoryEntries, zipFileToTar, zipStream, type ZipEntrySource } from '../src/index.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'fr-zip-'));
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('an archive of files, directories, streams and a symlink reads back with unzip, Python and our reader', async (t) => {
  const dir = tmp();
  const src = join(dir, 'big.log');
  const big = Buffer.alloc(300_000, 'abcdefghij\n');
  writeFileSync(src, big);
  const mtime = new Date(Date.UTC(2025, 4, 17, 10, 30, 42));
  const entries: ZipEntrySource[] = [
    { name: 'out/', mtime },
    { name: 'out/big.log', file: src, mode: 0o100640, mtime },
    { name: 'out/run.sh', data: '#!/bin/sh\necho hi\n', mode: 0o100755, mtime },
    { name: 'out/raw.bin', data: Buffer.from([0, 1, 2, 255]), method: 'store', mtime },
    { name: 'out/stream.txt', stream: Readable.from([Buffer.from('chunk one\n'), Buffer.from('chunk two\n')]), mtime },
    { name: 'out/empty.txt', data: '', mtime },
    { name: 'out/link', symlinkTarget: 'run.sh', mtime },
    { name: 'ünïcødé/名前.txt', data: 'utf-8 names\n' },
  ];
  const zip = join(dir, 'artifacts.zip');
  const size = await writeZipFile(zip, entries);
  t.equal(size, statSync(zip).size, 'reported size is the file size');

  const listing = sh('unzip', ['-l', zip]);
  for (const e of entries) t.ok(listing.includes(e.name), `unzip -l lists ${e.name}`);
  t.doesNotThrow(() => sh('unzip', ['-tq', zip]), 'unzip -t finds no CRC errors');
  t.equal(sh('unzip', ['-p', zip, 'out/stream.txt']), 'chunk one\nchunk two\n');
  // The DOS fields hold local time (as Info-ZIP's zip writes them); the 0x5455 field holds the exact UTC time.
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const dos = `${mtime.getFullYear()}-${p2(mtime.getMonth() + 1)}-${p2(mtime.getDate())} ${p2(mtime.getHours())}:${p2(mtime.getMinutes())}:${p2(mtime.getSeconds())}`;
  t.match(sh('python3', ['-m', 'zipfile', '-l', zip]), new RegExp(`out/big\\.log\\s+${dos}\\s+300000`));
  t.doesNotThrow(() => sh('python3', ['-c', `import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); bad=z.testzip(); sys.exit(1 if bad else 0)`, zip]), 'Python testzip passes');
  const deflated = sh('python3', ['-c', `import zipfile,sys; print(zipfile.ZipFile(sys.argv[1]).getinfo('out/big.log').compress_type)`, zip]).trim();
  t.equal(deflated, '8', 'files are deflated by default');

  const listed = await listZip(zip);
  t.equal(listed.length, entries.length);
  const link = listed.find((e) => e.name === 'out/link');
  t.ok(link?.isSymlink, 'the symlink keeps its type');
  t.equal(listed.find((e) => e.name === 'out/run.sh')?.mode, 0o100755);

  const dest = join(dir, 'x');
  const r = await extractZip(zip, dest);
  t.same(r, { files: 6, directories: 1, symlinks: 1, bytes: 300_000 + 18 + 4 + 20 + 0 + 12 });
  t.ok(readFileSync(join(dest, 'out/big.log')).equals(big), 'content round-trips');
  t.equal(statSync(join(dest, 'out/run.sh')).mode & 0o777, 0o755, 'mode round-trips');
  t.equal(statSync(join(dest, 'out/big.log')).mtime.getTime(), mtime.getTime(), 'mtime round-trips');
  t.ok(lstatSync(join(dest, 'out/link')).isSymbolicLink());
  t.equal(readlinkSync(join(dest, 'out/link')), 'run.sh');
  t.equal(readFileSync(join(dest, 'ünïcødé/名前.txt'), 'utf8'), 'utf-8 names\n');
});

t.test('more than 65 535 entries switch to ZIP64 end records', async (t) => {
  const dir = tmp();
  const zip = join(dir, 'many.zip');
  const n = 70_000;
  function* many(): Generator<ZipEntrySource> {
    for (let i = 0; i < n; i++) yield { name: `f/${i}`, data: '', method: 'store' };
  }
  await writeZipFile(zip, many());
  const count = sh('python3', ['-c', 'import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).infolist()))', zip]).trim();
  t.equal(count, String(n), 'Python reads every entry');
  t.equal((await listZip(zip)).length, n, 'our reader reads every entry');
});

t.test('reads archives written by another tool', async (t) => {
  const dir = tmp();
  const zip = join(dir, 'py.zip');
  sh('python3', [
    '-c',
    `import zipfile,sys
z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)
z.writestr('a/b.txt','x'*10000)
z.writestr('c.txt','plain')
z.close()`,
    zip,
  ]);
  const dest = join(dir, 'out');
  await extractZip(zip, dest);
  t.equal(readFileSync(join(dest, 'a/b.txt'), 'utf8'), 'x'.repeat(10000));
  t.equal(readFileSync(join(dest, 'c.txt'), 'utf8'), 'plain');
});

t.test('refuses entries that would land outside the destination', async (t) => {
  const cases = ['../evil.txt', '/abs/evil.txt', 'a/../../evil.txt'];
  for (const name of cases) {
    const dir = tmp();
    const zip = join(dir, 'evil.zip');
    sh('python3', ['-c', `import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w')\nzi=zipfile.ZipInfo(sys.argv[2])\nz.writestr(zi,'pwned')\nz.close()`, zip, name]);
    await t.rejects(extractZip(zip, join(dir, 'dest')), { code: 'invalid_argument' }, `refuses ${name}`);
    t.notOk(existsSync(join(dir, 'evil.txt')), `nothing written for ${name}`);
  }
});

t.test('does not write through a symlinked directory left in the destination', async (t) => {
  const dir = tmp();
  const outside = join(dir, 'outside');
  const dest = join(dir, 'dest');
  execFileSync('mkdir', ['-p', outside, dest]);
  symlinkSync(outside, join(dest, 'sub'));
  const zip = join(dir, 'a.zip');
  await writeZipFile(zip, [{ name: 'sub/file.txt', data: 'x' }]);
  await t.rejects(extractZip(zip, dest), { code: 'invalid_argument' });
  t.notOk(existsSync(join(outside, 'file.txt')));
});

t.test('a corrupted member fails its CRC check', async (t) => {
  const dir = tmp();
  const zip = join(dir, 'c.zip');
  await writeZipFile(zip, [{ name: 'a.txt', data: 'hello hello hello', method: 'store' }]);
  const bytes = readFileSync(zip);
  const at = bytes.indexOf('hello');
  bytes[at] = 'j'.charCodeAt(0);
  writeFileSync(zip, bytes);
  await t.rejects(extractZip(zip, join(dir, 'out')), /CRC-32 mismatch/);
});

t.test('directory entries walk paths in order, keep links as links, and round-trip', async (t) => {
  const root = tmp();
  execFileSync('mkdir', ['-p', join(root, 'build/bin'), join(root, 'docs')]);
  writeFileSync(join(root, 'build/bin/tool'), 'bin', { mode: 0o755 });
  writeFileSync(join(root, 'build/out.txt'), 'out');
  writeFileSync(join(root, 'docs/readme.md'), 'docs');
  symlinkSync('bin/tool', join(root, 'build/tool-link'));
  const { entries, missing } = await directoryEntries(root, ['build', 'docs/readme.md', 'nope', 'build/out.txt']);
  t.same(missing, ['nope']);
  t.same(
    entries.map((e) => e.name),
    ['build/', 'build/bin/', 'build/bin/tool', 'build/out.txt', 'build/tool-link', 'docs/', 'docs/readme.md'],
  );
  await t.rejects(directoryEntries(root, ['../etc']), { code: 'invalid_argument' });
  const zip = join(tmp(), 'a.zip');
  await writeZipFile(zip, entries);
  const dest = join(tmp(), 'x');
  await extractZip(zip, dest);
  t.equal(readlinkSync(join(dest, 'build/tool-link')), 'bin/tool');
  t.equal(statSync(join(dest, 'build/bin/tool')).mode & 0o777, 0o755);
  t.equal(readFileSync(join(dest, 'docs/readme.md'), 'utf8'), 'docs');
});

/**
 * A ZIP64 archive of one member that declares 4097 MiB (over 4 GiB) of zeros, built field by field: the deflate stream
 * is one fully flushed block of 1 MiB of zeros repeated (about 4 MB in all), and the central directory carries the
 * size in its ZIP64 extra field. Its CRC-32 is left 0: only the first megabytes of the member are read.
 */
function zip64Member(name: string, mib: number): Buffer {
  const piece = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zc.Z_FULL_FLUSH });
  const data = Buffer.concat([...Array.from({ length: mib }, () => piece), deflateRawSync(Buffer.alloc(0))]);
  const size = mib * 2 ** 20;
  const fname = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(45, 4);
  local.writeUInt16LE(0x0800, 6);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(0x00210000, 10);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(0xffffffff, 22);
  local.writeUInt16LE(fname.length, 26);
  local.writeUInt16LE(20, 28);
  const localExtra = Buffer.alloc(20);
  localExtra.writeUInt16LE(0x0001, 0);
  localExtra.writeUInt16LE(16, 2);
  localExtra.writeBigUInt64LE(BigInt(size), 4);
  localExtra.writeBigUInt64LE(BigInt(data.length), 12);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 45, 4);
  central.writeUInt16LE(45, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(0x00210000, 12);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(0xffffffff, 24);
  central.writeUInt16LE(fname.length, 28);
  central.writeUInt16LE(12, 30);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  const centralExtra = Buffer.alloc(12);
  centralExtra.writeUInt16LE(0x0001, 0);
  centralExtra.writeUInt16LE(8, 2);
  centralExtra.writeBigUInt64LE(BigInt(size), 4);
  const cdOffset = 30 + fname.length + 20 + data.length;
  const cd = Buffer.concat([central, fname, centralExtra]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, fname, localExtra, data, cd, end]);
}

t.test('a member declaring more than 4 GiB (ZIP64 extra field): listed with its size, refused by the cap, streamed when allowed', async (t) => {
  const dir = tmp();
  const zip = join(dir, 'huge.zip');
  const mib = 4097;
  const size = mib * 2 ** 20;
  writeFileSync(zip, zip64Member('zeros.bin', mib));
  t.ok(statSync(zip).size < 8 * 2 ** 20, `the archive is small (${statSync(zip).size} bytes)`);
  t.equal(sh('python3', ['-c', `import zipfile,sys; print(zipfile.ZipFile(sys.argv[1]).getinfo('zeros.bin').file_size)`, zip]).trim(), String(size), 'Python reads the ZIP64 size');
  const [e] = await listZip(zip);
  t.equal(e?.size, size, 'our reader reads the ZIP64 size');
  await t.rejects(extractZip(zip, join(dir, 'out')), { code: 'invalid_argument', message: `reading zip: huge.zip expands to ${size} bytes, over the limit of 1073741824 bytes` });
  t.notOk(existsSync(join(dir, 'out', 'zeros.bin')), 'nothing was written');

  // Allowed: the tar made from it declares the full size and its body streams (the first 8 MiB are read here).
  const tar = zipFileToTar(zip, { maxBytes: 8 * 2 ** 30 });
  const got = { size: 0, head: 0 };
  for await (const { header, body } of readTar(tar, { closeSource: true })) {
    got.size = header.size;
    for await (const c of body) {
      if (c.some((b) => b !== 0)) throw new Error('not zeros');
      got.head += c.length;
      if (got.head >= 8 * 2 ** 20) break;
    }
    break;
  }
  t.equal(got.size, size, 'the tar header carries the size past 4 GiB');
  t.ok(got.head >= 8 * 2 ** 20, 'the body streams');
});

t.test('a zip stream abandoned half-way closes the member being read and the entries it was pulling', async (t) => {
  let closedEntries!: () => void;
  const entriesClosed = new Promise<void>((resolve) => (closedEntries = resolve));
  const content = new Readable({ read() {} });
  content.push(Buffer.alloc(200_000, 1)); // more than one output block; never ended
  const contentClosed = new Promise<void>((resolve) => content.once('close', () => resolve()));
  async function* entries(): AsyncGenerator<ZipEntrySource> {
    try {
      yield { name: 'first.txt', data: 'one' };
      yield { name: 'endless.bin', stream: content, method: 'store' };
      yield { name: 'never.txt', data: 'never' };
    } finally {
      closedEntries();
    }
  }
  for await (const chunk of zipStream(entries())) {
    t.ok(chunk.length > 0);
    break;
  }
  await contentClosed;
  await entriesClosed;
  t.ok(content.destroyed, 'the member being read was destroyed');
});

t.test('bad member names and sizes are refused with the member named', async (t) => {
  const dir = tmp();
  await t.rejects(writeZipFile(join(dir, 'a.zip'), [{ name: 'a\\b.txt', data: 'x' }]), { message: /zip: entry "a\\\\b\.txt": not a relative path/ });
  await t.rejects(writeZipFile(join(dir, 'b.zip'), [{ name: 'ok.txt', data: 'x', size: 5 }]), { message: /zip: entry "ok\.txt": holds 1 bytes, not the 5 given/ });
  await t.rejects(writeZipFile(join(dir, 'c.zip'), [{ name: 's.bin', stream: Readable.from([Buffer.from('abc')]), size: 5 }]), { message: /zip: entry "s\.bin": / });
});
