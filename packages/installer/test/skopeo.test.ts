import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { install, publish, packagePlugin, hostPlatform, readTar } from '../src/index.js';
import { startRegistry, tmpDir } from '@fleetrunner/testing';

const host = hostPlatform();

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** An OCI image layout written by hand, with layers packed by GNU tar; `nested` puts the platforms in an index. */
function ociLayout(dir: string, platforms: { os: string; architecture: string; content: string }[], tag: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const h = sha(b);
    writeFileSync(join(dir, 'blobs', 'sha256', h), b);
    return { digest: `sha256:${h}`, size: b.length };
  };
  const manifests = platforms.map((p, i) => {
    const src = join(dir, `src${i}`);
    mkdirSync(src);
    writeFileSync(join(src, 'plugin'), p.content);
    chmodSync(join(src, 'plugin'), 0o755);
    const tgz = join(dir, `layer${i}.tgz`);
    execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', tgz, '-C', src, 'plugin']);
    const layerBytes = readFileSync(tgz);
    const layer = put(layerBytes);
    const config = put(Buffer.from(JSON.stringify({ architecture: p.architecture, os: p.os, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(gunzipSync(layerBytes))}`] } })));
    const manifest = put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
        }),
      ),
    );
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { architecture: p.architecture, os: p.os } };
  });
  const index = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
}

function skopeo(args: string[]): string {
  return execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

t.test('artifacts pushed by skopeo install: a multi-platform OCI index and a single Docker v2 manifest', async (t) => {
  const reg = await startRegistry(t);
  const work = tmpDir(t, { prefix: 'fr-skopeo' });
  ociLayout(
    join(work, 'multi'),
    [
      { os: 'linux', architecture: 'arm64', content: 'arm64 build' },
      { ...host, content: '#!/bin/sh\necho native\n' },
    ],
    '3.4.5',
  );
  skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${join(work, 'multi')}:3.4.5`, `docker://${reg.host}/std/multi:3.4.5`]);
  const raw = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/std/multi:3.4.5`])) as { mediaType: string };
  t.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json', 'skopeo pushed an index');
  const dir = join(work, 'plugins');
  const r = await install(`${reg.host}/std/multi:3`, { pluginDir: dir });
  t.equal(readFileSync(r.path, 'utf8'), '#!/bin/sh\necho native\n');
  t.equal(execFileSync(r.path, { encoding: 'utf8' }), 'native\n', 'the installed plugin runs');

  ociLayout(join(work, 'single'), [{ ...host, content: 'single' }], '1.0.0');
  // Copy the one platform image (not the index) converted to Docker v2 schema 2 media types.
  skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${join(work, 'single')}:1.0.0`, `docker://${reg.host}/std/docker:1.0.0`]);
  const single = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/std/docker:1.0.0`])) as { mediaType: string };
  t.equal(single.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const d = await install(`${reg.host}/std/docker`, { pluginDir: dir });
  t.equal(readFileSync(d.path, 'utf8'), 'single');
  const wrong = await install(`${reg.host}/std/docker`, { pluginDir: join(work, 'p2'), platform: { os: 'windows', architecture: 'amd64' } }).catch((e: unknown) => e);
  t.match((wrong as Error).message, /is built for linux\/.* only, not windows\/amd64/);
});

t.test('what we publish reads back with skopeo as a multi-platform index with plugin at the layer root', async (t) => {
  const reg = await startRegistry(t);
  const work = tmpDir(t, { prefix: 'fr-skopeo' });
  const script = join(work, 'plugin.js');
  writeFileSync(script, '#!/usr/bin/env node\nprocess.stdout.write("ok")\n');
  await packagePlugin(join(work, 'dist'), { kind: 'script', file: script });
  const pub = await publish(join(work, 'dist'), `${reg.host}/ours/p:0.3.0`);
  const index = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/p:0.3.0`])) as {
    mediaType: string;
    manifests: { platform: { os: string; architecture: string } }[];
  };
  t.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.same(
    index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`),
    ['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64'],
  );
  t.match(pub.reference, /@sha256:/);
  const out = join(work, 'copy');
  skopeo(['copy', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', 'arm64', `docker://${reg.host}/ours/p:0.3.0`, `dir:${out}`]);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { layers: { digest: string; mediaType: string }[] };
  t.equal(manifest.layers.length, 1);
  t.equal(manifest.layers[0]?.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const layerFile = readdirSync(out).find((f) => manifest.layers[0]?.digest.endsWith(f));
  const tarBytes = gunzipSync(readFileSync(join(out, layerFile ?? 'missing')));
  const names: string[] = [];
  for await (const e of readTar(Readable.from([tarBytes]))) {
    names.push(`${e.header.name} ${e.header.mode.toString(8)}`);
  }
  t.same(names, ['plugin 755']);
  const again = await publish(join(work, 'dist'), `${reg.host}/ours/p:0.3.1`);
  t.equal(again.digest, pub.digest, 'publishing is reproducible (same bytes, same digest)');
});
