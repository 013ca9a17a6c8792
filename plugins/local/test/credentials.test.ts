import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { connectConfigOf, generateEd25519, sshConnect, sshExec } from '@fleetrunner/testing';
import { noSshd, runningInstances, startGroup } from './harness.js';

const subnet = '127.78.4.0/24';
const me = userInfo().username;

t.test('static password (ssh2 mode): ConnectInfo carries it, the instance checks it', async (t) => {
  const { group, stateDir } = await startGroup(t, {
    pluginConfig: { subnet },
    connector: { useStaticCredentials: true, username: 'ci', password: 's3cret' },
  });
  const [id] = await runningInstances(group, 1);
  const info = await group.connectInfo(id!);
  t.match(info, { username: 'ci', password: 's3cret', useStaticCredentials: true });
  t.equal(info.key.length, 0, 'no key handed out');
  t.notOk(existsSync(join(stateDir, 'id_ed25519')), 'no group key generated');
  const client = await sshConnect(connectConfigOf(info));
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'id -un')).stdout, `${me}\n`, 'commands run as the plugin user');
  await t.rejects(sshConnect({ ...connectConfigOf(info), password: 'wrong' }), /authentication/i);
  await t.rejects(sshConnect({ ...connectConfigOf(info), username: 'other' }), /authentication/i);
});

for (const mode of ['ssh2', 'sshd'] as const) {
  t.test(`static key (${mode} mode): the configured key is authorized and handed out`, { skip: mode === 'sshd' && noSshd }, async (t) => {
    const kp = generateEd25519('static');
    const key = new TextEncoder().encode(kp.privateKey);
    const { group } = await startGroup(t, { pluginConfig: { subnet, mode }, connector: { useStaticCredentials: true, key } });
    const [id] = await runningInstances(group, 1);
    const info = await group.connectInfo(id!);
    t.same(Buffer.from(info.key), Buffer.from(key));
    t.equal(info.username, me);
    const client = await sshConnect(connectConfigOf(info));
    t.teardown(() => client.end());
    t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');
    const other = generateEd25519('other');
    await t.rejects(sshConnect({ ...connectConfigOf(info), privateKey: other.privateKey }), /authentication/i);
  });
}
