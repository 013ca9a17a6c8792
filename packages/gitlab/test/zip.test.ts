import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, statSync, lstatSync, readlinkSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeZipFile, listZip, extractZip, directoryEntries, type ZipEntrySource } from '../src/index.js';

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
  t.match(sh('python3', ['-m', 'zipfile', '-l', zip]), /out\/big\.log\s+2025-05-17 10:30:42\s+300000/);
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
