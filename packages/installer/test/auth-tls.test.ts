import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { install, loginCommand, publish, packagePlugin, errorKind, hostPlatform, readCredential } from '../src/index.js';
import { startRegistry, rawPushArtifact, pluginLayer, tmpDir } from '@fleetrunner/testing';

const host = hostPlatform();

function capture(): { io: { out: { write(s: string): void }; err: { write(s: string): void } }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: { write: (s) => out.push(s) }, err: { write: (s) => err.push(s) } }, out, err };
}

t.test('htpasswd basic auth: anonymous refused, login stores Docker config credentials, install uses them', async (t) => {
  const reg = await startRegistry(t, { auth: 'htpasswd' });
  const content = randomBytes(10_000);
  await rawPushArtifact(reg, 'private/p', '1.0.0', [{ ...host, layer: pluginLayer(content) }]);
  const dir = tmpDir(t, { prefix: 'fr-auth' });
  const dockerConfig = join(dir, 'docker', 'config.json');

  const anon = await install(`${reg.host}/private/p`, { pluginDir: dir, dockerConfig }).catch((e: unknown) => e);
  t.equal(errorKind(anon), 'unauthorized');
  t.match((anon as Error).message, /authentication required and no credentials are stored/);

  const bad = capture();
  const r1 = await loginCommand({ server: reg.host, username: 'tester', password: 'wrong', dockerConfig, io: bad.io });
  t.equal(r1.exitCode, 1);
  t.match(bad.err.join(''), /login error: logging in to 127\.0\.0\.1:\d+: checking .*: registry answered 401/);

  const good = capture();
  const r2 = await loginCommand({
    server: reg.host,
    username: 'tester',
    passwordStdin: Readable.from([Buffer.from(`${reg.password}\r\n`)]),
    dockerConfig,
    io: good.io,
  });
  t.equal(r2.exitCode, 0, good.err.join(''));
  t.same(good.out, [`logged in via config file ${dockerConfig}\n`]);
  t.equal(statSync(dockerConfig).mode & 0o777, 0o600);
  const stored = JSON.parse(readFileSync(dockerConfig, 'utf8')) as { auths: Record<string, { auth: string }> };
  t.equal(Buffer.from(stored.auths[reg.host]?.auth ?? '', 'base64').toString(), `tester:${reg.password}`);
  t.same(await readCredential(reg.host, { dockerConfig }), { username: 'tester', password: reg.password });

  const r = await install(`${reg.host}/private/p`, { pluginDir: dir, dockerConfig });
  t.same(readFileSync(r.path), content);
});

t.test('bearer tokens: anonymous pull through the token server, push needs login', async (t) => {
  const reg = await startRegistry(t, { auth: 'token', anonymousPull: true });
  const dir = tmpDir(t, { prefix: 'fr-token' });
  const dockerConfig = join(dir, 'config.json');
  const script = join(dir, 'bundle.js');
  writeFileSync(script, '#!/usr/bin/env node\nconsole.log("hi")\n');
  await packagePlugin(join(dir, 'dist'), { kind: 'script', file: script, platforms: [host] });

  const denied = await publish(join(dir, 'dist'), `${reg.host}/tok/p:1.0.0`, { dockerConfig }).catch((e: unknown) => e);
  t.equal(errorKind(denied), 'unauthorized', (denied as Error).message);

  const login = capture();
  t.equal((await loginCommand({ server: reg.host, username: 'tester', password: reg.password, dockerConfig, io: login.io })).exitCode, 0, login.err.join(''));
  const pub = await publish(join(dir, 'dist'), `${reg.host}/tok/p:1.0.0`, { dockerConfig });
  t.match(pub.reference, new RegExp(`^${reg.host}/tok/p:1\\.0\\.0@sha256:[0-9a-f]{64}$`));

  const before = reg.tokenRequests.length;
  const emptyConfig = join(dir, 'none.json');
  const r = await install(`${reg.host}/tok/p:1`, { pluginDir: join(dir, 'plugins'), dockerConfig: emptyConfig });
  t.equal(readFileSync(r.path, 'utf8'), '#!/usr/bin/env node\nconsole.log("hi")\n');
  const pulls = reg.tokenRequests.slice(before);
  t.ok(pulls.length >= 1, 'asked the token server');
  t.ok(pulls.every((p) => !p.basic && p.scope === 'repository:tok/p:pull'), 'anonymous, pull scope only');
  t.equal(pulls.length, 1, 'one token reused for tags, manifests and the blob');
});

t.test('TLS with a self-signed CA: refused without the CA, installs with caFile', async (t) => {
  const reg = await startRegistry(t, { tls: true });
  const content = randomBytes(20_000);
  await rawPushArtifact(reg, 'tls/p', '2.1.0', [{ ...host, layer: pluginLayer(content) }]);
  const dir = tmpDir(t, { prefix: 'fr-tls' });
  const saved = process.env['SSL_CERT_FILE'];
  delete process.env['SSL_CERT_FILE'];
  t.teardown(() => {
    if (saved !== undefined) process.env['SSL_CERT_FILE'] = saved;
  });
  const err = await install(`${reg.host}/tls/p`, { pluginDir: dir }).catch((e: unknown) => e);
  t.equal(errorKind(err), 'tls', (err as Error).message);
  t.match((err as Error).message, /caFile or SSL_CERT_FILE/);
  const r = await install(`${reg.host}/tls/p:2`, { pluginDir: dir, caFile: reg.caFile });
  t.equal(r.version, '2.1.0');
  t.same(readFileSync(r.path), content);
  process.env['SSL_CERT_FILE'] = reg.caFile;
  const again = await install(`${reg.host}/tls/p:2.1.0`, { pluginDir: tmpDir(t, { prefix: 'fr-tls' }) });
  t.equal(again.status, 'installed', 'SSL_CERT_FILE is honoured too');
});

t.test('a configured credential helper is asked for and given credentials', async (t) => {
  const reg = await startRegistry(t, { auth: 'htpasswd' });
  await rawPushArtifact(reg, 'helper/p', '1.0.0', [{ ...host, layer: pluginLayer(Buffer.from('via helper')) }]);
  const dir = tmpDir(t, { prefix: 'fr-helper' });
  const bin = join(dir, 'bin');
  const store = join(dir, 'stored.json');
  mkdirSync(bin);
  // A credential helper speaking the docker-credential-helpers protocol: `store` keeps stdin, `get` prints it back.
  writeFileSync(
    join(bin, 'docker-credential-fake'),
    `#!/bin/sh\ncase "$1" in\n  store) cat > ${store} ;;\n  get) read host; [ -f ${store} ] && cat ${store} || exit 1 ;;\nesac\n`,
  );
  chmodSync(join(bin, 'docker-credential-fake'), 0o755);
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${bin}:${savedPath ?? ''}`;
  t.teardown(() => {
    process.env['PATH'] = savedPath;
  });
  const dockerConfig = join(dir, 'config.json');
  writeFileSync(dockerConfig, JSON.stringify({ credsStore: 'fake' }));
  const c = capture();
  t.equal((await loginCommand({ server: reg.host, username: 'tester', password: reg.password, dockerConfig, io: c.io })).exitCode, 0, c.err.join(''));
  t.same(c.out, ['logged in via credential helper docker-credential-fake\n']);
  t.same(JSON.parse(readFileSync(store, 'utf8')), { ServerURL: reg.host, Username: 'tester', Secret: reg.password });
  t.same(JSON.parse(readFileSync(dockerConfig, 'utf8')), { credsStore: 'fake' }, 'the config file keeps no secret');
  const r = await install(`${reg.host}/helper/p`, { pluginDir: join(dir, 'plugins'), dockerConfig });
  t.equal(readFileSync(r.path, 'utf8'), 'via helper');
});
