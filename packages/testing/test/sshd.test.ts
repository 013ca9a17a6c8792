import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import t from 'tap';
import { connectConfigOf, descendants, ensureShUser, sshConnect, sshExec, startSshd, waitFor } from '../src/index.js';
import { hasCode } from '@fleetrunner/common';

const SSHD = '/usr/sbin/sshd';
const noSshd = existsSync(SSHD) ? false : `${SSHD} is missing (apt-get install openssh-server)`;
const notRoot = process.getuid?.() === 0 ? false : 'needs root';

t.test('startSshd: a real sshd that admits the generated client key and shows its host key', { skip: noSshd }, async (t) => {
  const sshd = await startSshd();
  t.teardown(() => sshd.stop());
  let seen: Buffer | undefined;
  const client = await sshConnect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.clientKey,
    hostVerifier: (key: Buffer) => {
      seen = key;
      return true;
    },
  });
  t.teardown(() => client.end());
  t.ok(seen?.equals(sshd.hostKeyBlob), 'host key as advertised');
  const r = await sshExec(client, 'id -un; echo "$FOO"; cat; exit 7', { env: { FOO: 'bar' }, stdin: 'from stdin\n' });
  t.same(r, { stdout: `${userInfo().username}\nbar\nfrom stdin\n`, stderr: '', code: 7, signal: null });
  t.match(sshd.log(), /Server listening on 127\.0\.0\.1/);
});

t.test('startSshd refuses a key it did not authorize', { skip: noSshd }, async (t) => {
  const a = await startSshd();
  const b = await startSshd();
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  await t.rejects(sshConnect({ host: a.host, port: a.port, username: a.username, privateKey: b.clientKey }), /authentication/i);
});

t.test('stop kills session processes too and removes the dir', { skip: noSshd }, async (t) => {
  const sshd = await startSshd();
  const client = await sshConnect({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.clientKey });
  t.teardown(() => client.end());
  client.exec('sleep 300', () => {});
  const pid = await waitFor(() => {
    const sleeper = descendants(process.pid).find((p) => {
      try {
        return cmdlineOf(p) === 'sleep\u0000300\u0000';
      } catch {
        return false;
      }
    });
    return sleeper;
  }, { what: 'remote sleep process' });
  await sshd.stop();
  await waitFor(() => !isRunning(pid), { what: `sleep ${pid} to die` });
  t.notOk(existsSync(sshd.dir));
});

t.test('ensureShUser + startSshd({ user }): login as a /bin/sh user', { skip: noSshd || notRoot }, async (t) => {
  const user = await ensureShUser('frtestsh');
  const again = await ensureShUser('frtestsh');
  t.same(again, user, 'idempotent');
  t.equal(user.shell, '/bin/sh');
  const sshd = await startSshd({ user: user.name });
  t.teardown(() => sshd.stop());
  const client = await sshConnect({ host: sshd.host, port: sshd.port, username: user.name, privateKey: sshd.clientKey });
  t.teardown(() => client.end());
  const r = await sshExec(client, 'id -un; id -u; echo "$HOME"; echo "$0"');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `${user.name}\n${user.uid}\n${user.home}\nsh\n`);
});

t.test('connectConfigOf maps a ConnectInfo', async (t) => {
  const cfg = connectConfigOf({
    id: 'x', internalAddr: '127.77.0.1', externalAddr: '', protocol: 'ssh', protocolPort: 2222, username: 'u', password: '',
    key: new TextEncoder().encode('KEY'), os: 'linux', arch: 'amd64', useStaticCredentials: false, keepaliveMs: 0, timeoutMs: 0,
  });
  t.match(cfg, { host: '127.77.0.1', port: 2222, username: 'u' });
  t.equal(Buffer.from(cfg.privateKey as Buffer).toString(), 'KEY');
  t.notOk('password' in cfg);
});

t.test('ensureShUser needs root', { skip: notRoot ? false : 'running as root' }, async (t) => {
  const err = await ensureShUser('nobody-else').catch((e: unknown) => e);
  t.ok(hasCode(err, 'unsupported'));
});

function cmdlineOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}
