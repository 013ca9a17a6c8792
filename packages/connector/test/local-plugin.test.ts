// The connector against the local fleeting plugin's instances (ssh2 mode, in process): the credentials a plugin
// hands out, static credentials from the runner's connector settings, and host keys per instance id.
import { userInfo } from 'node:os';
import t from 'tap';
import { SshConnector } from '../src/index.js';
import { Output, startLocal } from './support/peers.js';

const me = userInfo().username;

t.test('key auth with the key the plugin hands out', async (t) => {
  const { group, ids } = await startLocal(t, { subnet: '127.100.4.0/28' });
  const info = await group.connectInfo(ids[0]!);
  t.ok(info.key.length > 0 && info.password === '', 'the plugin reports a key and no password');
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  const conn = await c.connect(info);
  t.equal(conn.address, `${info.internalAddr}:${info.protocolPort}`);
  const out = new Output();
  t.same(await conn.exec('id -un', { onStdout: out.write }), { exitCode: 0 });
  t.equal(out.text, `${me}\n`);
});

t.test('password auth with static credentials (ssh2 mode)', async (t) => {
  const { group, ids } = await startLocal(t, {
    subnet: '127.100.4.16/28',
    connector: { useStaticCredentials: true, username: 'ci', password: 's3cret' },
  });
  const info = await group.connectInfo(ids[0]!);
  t.match(info, { username: 'ci', password: 's3cret' });
  t.equal(info.key.length, 0, 'no key handed out');

  t.test('the password the plugin reports logs in', async (t) => {
    const c = new SshConnector();
    t.teardown(() => c.shutdown());
    const out = new Output();
    t.same(await (await c.connect(info)).exec('echo in', { onStdout: out.write }), { exitCode: 0 });
    t.equal(out.text, 'in\n');
  });

  t.test('the runner\'s connector settings fill in a password the plugin left out', async (t) => {
    const c = new SshConnector({ settings: { username: 'ci', password: 's3cret' } });
    t.teardown(() => c.shutdown());
    t.same(await (await c.connect({ ...info, password: '' })).exec('true'), { exitCode: 0 });
  });

  t.test('with use_static_credentials the settings win; a wrong one → auth_failed', async (t) => {
    const c = new SshConnector({ settings: { useStaticCredentials: true, username: 'ci', password: 'wrong' } });
    t.teardown(() => c.shutdown());
    await t.rejects(c.connect(info), { code: 'auth_failed', message: /ci@127\.100\.4\.\d+:\d+ \(instance local-1\): authentication failed \(tried password\)/ });
  });
});

t.test('the same instance id from another group with another host key → host_key_changed', async (t) => {
  // Two groups of the same name number their instances alike: local-1 in both, each with its own host key.
  const a = await startLocal(t, { subnet: '127.100.4.32/28' });
  const b = await startLocal(t, { subnet: '127.100.4.48/28' });
  t.equal(a.ids[0], b.ids[0]);
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  (await c.connect(await a.group.connectInfo(a.ids[0]!))).close();
  await t.rejects(c.connect(await b.group.connectInfo(b.ids[0]!)), { code: 'host_key_changed', message: /host key changed \(pinned SHA256:[A-Za-z0-9+/]+\); refusing to connect/ });
});
