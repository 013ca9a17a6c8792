import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarReader, type TarEntry } from '../src/files/index.js';

t.test('reads archives made by the system tar, including long names and links', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tar-reader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const long = 'd'.repeat(120) + '/' + 'f'.repeat(150) + '.txt';
  mkdirSync(join(dir, 'd'.repeat(120)), { recursive: true });
  writeFileSync(join(dir, long), 'long name content');
  writeFileSync(join(dir, 'small.txt'), 'hello');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(70_000, 7));
  symlinkSync('small.txt', join(dir, 'link'));
  for (const format of ['gnu', 'pax', 'ustar']) {
    const names = format === 'ustar' ? ['small.txt', 'big.bin', 'link'] : ['small.txt', 'big.bin', 'link', long];
    const archive = execFileSync('tar', ['-cf', '-', `--format=${format}`, '-C', dir, ...names], { maxBuffer: 1 << 24 });
    const seen: TarEntry[] = [];
    const content = new Map<string, Buffer[]>();
    const reader = new TarReader({
      onEntry: (e) => seen.push(e),
      onData: (e, c) => content.set(e.path, [...(content.get(e.path) ?? []), Buffer.from(c)]),
    });
    // Feed in odd-sized chunks to exercise boundaries.
    const chunks: Buffer[] = [];
    for (let i = 0; i < archive.length; i += 777) chunks.push(archive.subarray(i, i + 777));
    await pipeline(Readable.from(chunks), reader);
    t.same(seen.map((e) => e.path), names, `${format}: entry names`);
    t.equal(Buffer.concat(content.get('small.txt') ?? []).toString(), 'hello', `${format}: small content`);
    t.equal(Buffer.concat(content.get('big.bin') ?? []).length, 70_000, `${format}: big content length`);
    const link = seen.find((e) => e.path === 'link');
    t.equal(link?.type, 'symlink', `${format}: symlink type`);
    t.equal(link?.linkname, 'small.txt', `${format}: symlink target`);
  }
});

t.test('rejects a corrupted header', async (t) => {
  const bad = Buffer.alloc(1024, 0);
  bad.write('not a tar header', 0);
  const reader = new TarReader({ onEntry: () => {} });
  await t.rejects(pipeline(Readable.from([bad]), reader), /checksum/);
});
