import t from 'tap';
import { readdirSync, existsSync, readFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { install, installCommand, errorKind, hostPlatform, type InstallerErrorKind } from '../src/index.js';
import { startRegistry, rawPushArtifact, pluginLayer, makeTar, type RawEntry, tmpDir } from '@fleetrunner/testing';
import { startProxy } from './proxy-fixture.js';

const host = hostPlatform();

/** Every file left under `dir`, relative. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

t.test('bad artifacts fail with a named reason and leave nothing installed', async (t) => {
  const reg = await startRegistry(t);
  const big = randomBytes(300_000);
  const layerOf = (entries: RawEntry[]): Buffer => gzipSync(makeTar(entries));
  const cases: { name: string; entries?: RawEntry[]; layer?: Buffer; platforms?: { os: string; architecture: string }[]; maxLayerBytes?: number; kind: InstallerErrorKind; message: RegExp }[] = [
    { name: 'dotdot', entries: [{ name: '../plugin', body: Buffer.from('x') }], kind: 'unsafe_archive', message: /"\.\.\/plugin" escapes/ },
    { name: 'absolute', entries: [{ name: '/plugin', body: Buffer.from('x') }], kind: 'unsafe_archive', message: /absolute path/ },
    { name: 'symlink', entries: [{ name: 'plugin', type: '2', linkname: '/bin/sh' }], kind: 'unsafe_archive', message: /is a link/ },
    { name: 'hardlink', entries: [{ name: 'other', body: Buffer.from('x') }, { name: 'plugin', type: '1', linkname: 'other' }], kind: 'unsafe_archive', message: /is a link/ },
    { name: 'device', entries: [{ name: 'plugin', type: '3' }], kind: 'unsafe_archive', message: /not a regular file/ },
    { name: 'missing', entries: [{ name: 'README', body: Buffer.from('x') }], kind: 'plugin_missing', message: /no layer holds "plugin"/ },
    { name: 'duplicate', entries: [{ name: 'plugin', body: Buffer.from('a') }, { name: './plugin', body: Buffer.from('b') }], kind: 'unsafe_archive', message: /twice/ },
    { name: 'not-gzip', layer: makeTar([{ name: 'plugin', body: Buffer.from('x') }]), kind: 'bad_artifact', message: /incorrect header check/ },
    { name: 'not-tar', layer: gzipSync(randomBytes(2048)), kind: 'unsafe_archive', message: /not a tar archive/ },
    { name: 'platform', platforms: [{ os: 'plan9', architecture: 'mips' }], kind: 'platform_not_found', message: /no build for .* \(available: plan9\/mips\)/ },
    { name: 'cap', entries: [{ name: 'plugin', body: big }], maxLayerBytes: 100_000, kind: 'too_large', message: /over the limit/ },
    { name: 'bomb', layer: gzipSync(makeTar([{ name: 'plugin', body: Buffer.alloc(400_000) }])), maxLayerBytes: 100_000, kind: 'too_large', message: /unpacks to more than 100000/ },
  ];
  for (const c of cases) {
    const dir = tmpDir(t, { prefix: 'fr-bad' });
    const layer = c.layer ?? layerOf(c.entries ?? []);
    await rawPushArtifact(reg, `bad/${c.name}`, '1.0.0', (c.platforms ?? [host]).map((p) => ({ ...p, layer })));
    const ref = `${reg.host}/bad/${c.name}:1`;
    const err = await install(ref, { pluginDir: dir, maxLayerBytes: c.maxLayerBytes }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.equal(errorKind(err), c.kind, `${c.name}: kind`);
    t.match((err as Error | undefined)?.message, c.message, `${c.name}: message`);
    t.match((err as Error | undefined)?.message, `installing ${reg.host}/bad/${c.name}:1`, `${c.name}: names the reference`);
    t.same(tree(dir), [], `${c.name}: nothing left behind`);
  }
});

t.test('a blob corrupted in registry storage is refused', async (t) => {
  const reg = await startRegistry(t);
  const dir = tmpDir(t, { prefix: 'fr-bad' });
  const corrupt = (layer: Buffer): void => {
    const hex = createHash('sha256').update(layer).digest('hex');
    const data = join(reg.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    t.same(readFileSync(data), layer, 'found the stored blob');
    const fd = openSync(data, 'r+');
    writeSync(fd, Buffer.from([(layer[700] ?? 0) ^ 0xff]), 0, 1, 700);
    closeSync(fd);
  };
  // An uncompressed tar layer: only the digest can tell that a byte of the plugin changed.
  const tarLayer = makeTar([{ name: 'plugin', body: randomBytes(5_000) }]);
  await rawPushArtifact(reg, 'bad/corrupt', '1.0.0', [{ ...host, layer: tarLayer, layerMediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
  corrupt(tarLayer);
  const err = await install(`${reg.host}/bad/corrupt:1`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(err), 'digest_mismatch', (err as Error).message);
  t.match((err as Error).message, /layer content has digest sha256:[0-9a-f]{64}, the manifest says sha256:/);
  t.same(tree(dir), []);
  // In a gzip layer the gzip check usually trips first; either way nothing is installed.
  const gzLayer = pluginLayer(randomBytes(5_000));
  await rawPushArtifact(reg, 'bad/corrupt-gz', '1.0.0', [{ ...host, layer: gzLayer }]);
  corrupt(gzLayer);
  const err2 = await install(`${reg.host}/bad/corrupt-gz:1`, { pluginDir: dir }).catch((e: unknown) => e);
  t.ok(['digest_mismatch', 'bad_artifact'].includes(errorKind(err2) ?? ''), (err2 as Error).message);
  t.same(tree(dir), []);
});

t.test('registry failures: 5xx, a download cut short, and exit code 1 from the command', async (t) => {
  const reg = await startRegistry(t);
  const plugin = randomBytes(400_000);
  await rawPushArtifact(reg, 'net/cut', '1.0.0', [{ ...host, layer: pluginLayer(plugin) }]);
  await rawPushArtifact(reg, 'net/five', '1.0.0', [{ ...host, layer: pluginLayer(plugin) }]);
  const proxy = await startProxy(reg.host, [
    { path: /\/net\/five\/tags\/list/, status: 503 },
    { path: /\/net\/cut\/blobs\/sha256:/, cutAfter: 100_000 },
  ]);
  t.teardown(() => proxy.close());
  const dir = tmpDir(t, { prefix: 'fr-bad' });
  const cut = await install(`${proxy.host}/net/cut:1`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(cut), 'truncated', (cut as Error).message);
  t.match((cut as Error).message, /download ended after/);
  const five = await install(`${proxy.host}/net/five:1`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(five), 'registry_error');
  t.match((five as Error).message, /503 \(UNAVAILABLE: injected failure\)/);
  t.same(tree(dir), []);

  const out: string[] = [];
  const errs: string[] = [];
  const io = { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => errs.push(s) } };
  const r = await installCommand({
    plugins: [
      { runner: 'one', plugin: `${proxy.host}/net/cut:1` },
      { runner: 'two', plugin: `${reg.host}/net/five:1` },
      { runner: 'three', plugin: `${reg.host}/net/missing` },
    ],
    pluginDir: dir,
    io,
  });
  t.equal(r.exitCode, 1);
  t.same(
    r.items.map((i) => i.status),
    ['failed', 'installed', 'failed'],
  );
  t.equal(out.length, 1);
  t.match(out[0], new RegExp(`^runner: two, plugin: ${reg.host}/net/five:1, path: .*/1\\.0\\.0/plugin\\n$`));
  t.match(errs[0], /^runner: one, plugin: .*install\/update error: installing .*download ended/);
  t.match(errs[1], /^runner: three, .*unknown plugin/);
});

t.test('aborting mid-download leaves nothing behind', async (t) => {
  const reg = await startRegistry(t);
  await rawPushArtifact(reg, 'slow/p', '1.0.0', [{ ...host, layer: pluginLayer(randomBytes(3_000_000)) }]);
  const dir = tmpDir(t, { prefix: 'fr-abort' });
  const ac = new AbortController();
  const err = await install(`${reg.host}/slow/p`, {
    pluginDir: dir,
    signal: ac.signal,
    onProgress: (n) => {
      if (n > 0) ac.abort(new Error('stop now'));
    },
  }).catch((e: unknown) => e);
  t.match((err as Error).message, /installing .*slow\/p:latest: stop now/);
  t.same(tree(dir), []);
});
