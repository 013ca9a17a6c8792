import t from 'tap';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { install, lookPath, errorKind, hostPlatform } from '../src/index.js';
import { startRegistry, rawPushArtifact, pluginLayer, tmpDir } from '@fleetrunner/testing';

const host = hostPlatform();

t.test('installs the highest matching version from a plain loopback registry', async (t) => {
  const reg = await startRegistry(t);
  const dir = tmpDir(t, { prefix: 'fr-plugins' });
  const repo = 'fleeting/plugins/demo';
  const contents: Record<string, Buffer> = {};
  for (const v of ['1.0.0', '1.2.0', '1.10.1', '2.0.0-rc.1', '0.9.0']) {
    contents[v] = Buffer.from(`#!/bin/sh\necho ${v}\n`);
    await rawPushArtifact(reg, repo, v, [
      { os: 'linux', architecture: 'arm64', layer: pluginLayer(Buffer.from('wrong platform')) },
      { ...host, layer: pluginLayer(contents[v]) },
    ]);
  }
  const ref = `${reg.host}/${repo}`;
  const cases: [string, string, 'installed' | 'present'][] = [
    ['latest', '1.10.1', 'installed'],
    ['1', '1.10.1', 'present'],
    ['1.2', '1.2.0', 'installed'],
    ['0', '0.9.0', 'installed'],
    ['2.0.0-rc.1', '2.0.0-rc.1', 'installed'],
  ];
  for (const [constraint, want, status] of cases) {
    const r = await install(`${ref}:${constraint}`, { pluginDir: dir });
    t.equal(r.version, want, `${constraint} → ${want}`);
    t.equal(r.status, status);
    t.equal(r.path, join(dir, reg.host, 'fleeting', 'plugins', 'demo', want, 'plugin'));
    t.same(readFileSync(r.path), contents[want]);
    t.equal(statSync(r.path).mode & 0o777, 0o755);
  }
  const found = await lookPath(`${ref}:1.2`, { pluginDir: dir });
  t.equal(found.version, '1.2.0');
  t.notOk(readdirSync(join(dir, reg.host, 'fleeting', 'plugins', 'demo')).some((n) => n.startsWith('.')), 'no temporary directories left');
});

t.test('unknown plugin and unmatched constraint name the reference', async (t) => {
  const reg = await startRegistry(t);
  const dir = tmpDir(t, { prefix: 'fr-plugins' });
  await rawPushArtifact(reg, 'p/x', '1.0.0', [{ ...host, layer: pluginLayer(randomBytes(100)) }]);
  const e1 = await install(`${reg.host}/p/nope:1`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(e1), 'unknown_plugin');
  t.match((e1 as Error).message, `installing ${reg.host}/p/nope:1`);
  const e2 = await install(`${reg.host}/p/x:2`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(e2), 'no_matching_version');
  t.match((e2 as Error).message, /available: 1\.0\.0/);
  t.notOk(existsSync(join(dir, reg.host, 'p', 'x')) && readdirSync(join(dir, reg.host, 'p', 'x')).length > 0);
});
