import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeTar, type TarMember } from '@fleetrunner/common/tar';
import { readTar, safeEntryPath, errorKind, identifyBinary, binaryMismatch, type TarHeader } from '../src/index.js';

async function tarOf(members: TarMember[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeTar(members)) parts.push(c);
  return Buffer.concat(parts);
}

async function list(bytes: Buffer, chunk = 7): Promise<{ header: TarHeader; body: string }[]> {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  const out: { header: TarHeader; body: string }[] = [];
  for await (const e of readTar(Readable.from(parts))) {
    let body = '';
    if (e.header.name.includes('skip')) {
      out.push({ header: e.header, body: '(unread)' });
      continue;
    }
    for await (const c of e.body) body += c.toString();
    out.push({ header: e.header, body });
  }
  return out;
}

t.test('reads what GNU tar writes in each format, in small chunks, skipping unread bodies', async (t) => {
  const dir = tmpDir(t, { prefix: 'fr-tar' });
  const src = join(dir, 'src');
  const long = 'd'.repeat(120) + '/' + 'f'.repeat(110);
  mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
  writeFileSync(join(src, long), 'long name body');
  writeFileSync(join(src, 'plugin'), 'x'.repeat(1000));
  writeFileSync(join(src, 'skip-me'), 'y'.repeat(700));
  symlinkSync('plugin', join(src, 'link'));
  for (const format of ['gnu', 'pax', 'ustar']) {
    const file = join(dir, `${format}.tar`);
    const names = format === 'ustar' ? ['plugin', 'skip-me', 'link'] : ['plugin', 'skip-me', 'link', long];
    execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, ...names]);
    const entries = await list(readFileSync(file));
    t.same(
      entries.map((e) => [e.header.name, e.header.type, e.body.length]),
      [['plugin', 'file', 1000], ['skip-me', 'file', '(unread)'.length], ['link', 'symlink', 0], ...(format === 'ustar' ? [] : [[long, 'file', 14]])],
      format,
    );
    t.equal(entries[2]?.header.linkname, 'plugin', `${format} link target`);
  }
});

t.test('our writer round-trips and GNU tar reads it', async (t) => {
  const body = Buffer.from('#!/bin/sh\n');
  const tar = await tarOf([{ name: 'Files/', type: 'directory' }, { name: 'Files/plugin.exe', type: 'file', size: body.length, mode: 0o755, body }]);
  const entries = await list(tar, 100);
  t.same(entries.map((e) => [e.header.name, e.header.type, e.header.mode, e.body]), [
    ['Files/', 'directory', 0o755, ''],
    ['Files/plugin.exe', 'file', 0o755, '#!/bin/sh\n'],
  ]);
  const dir = tmpDir(t, { prefix: 'fr-tar' });
  writeFileSync(join(dir, 'a.tar'), tar);
  t.equal(execFileSync('tar', ['-tvf', join(dir, 'a.tar')], { encoding: 'utf8' }).split('\n').filter(Boolean).length, 2);
});

t.test('truncated archives and unsafe names are refused', async (t) => {
  const body = Buffer.alloc(1500, 1);
  const tar = await tarOf([{ name: 'plugin', type: 'file', size: body.length, body }]);
  for (const cut of [100, 512 + 700]) {
    const err = await list(tar.subarray(0, cut)).catch((e: unknown) => e);
    t.equal(errorKind(err), 'truncated', `cut at ${cut}`);
  }
  const cases: [string, string | undefined][] = [
    ['plugin', 'plugin'],
    ['./plugin', 'plugin'],
    ['a//b/./c', 'a/b/c'],
    ['../plugin', undefined],
    ['a/../../b', undefined],
    ['/etc/passwd', undefined],
    ['C:/x', undefined],
    ['a\\..\\b', undefined],
  ];
  for (const [name, want] of cases) {
    if (want === undefined) {
      let err: unknown;
      try {
        safeEntryPath(name);
      } catch (e) {
        err = e;
      }
      t.equal(errorKind(err), 'unsafe_archive', name);
    }
    else t.equal(safeEntryPath(name), want, name);
  }
});

t.test('binary formats are told apart and checked against the platform', async (t) => {
  const elf = Buffer.alloc(64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[5] = 1;
  elf.writeUInt16LE(62, 18);
  t.same(identifyBinary(elf), { kind: 'elf', architecture: 'amd64' });
  t.equal(binaryMismatch(elf, 'linux', 'amd64'), undefined);
  t.match(binaryMismatch(elf, 'linux', '386'), /built for amd64, not 386/);
  t.match(binaryMismatch(elf, 'darwin', 'amd64'), /ELF binary/);
  t.equal(binaryMismatch(Buffer.from('#!/usr/bin/env node\n'), 'darwin', 'arm64'), undefined);
  t.match(binaryMismatch(Buffer.from('#!/usr/bin/env node\n'), 'windows', 'amd64'), /Windows/);
  t.match(binaryMismatch(Buffer.from('hello'), 'linux', 'amd64'), /not an executable/);
  t.same(identifyBinary(readFileSync(process.execPath).subarray(0, 64)), { kind: 'elf', architecture: process.arch === 'x64' ? 'amd64' : process.arch });
});
