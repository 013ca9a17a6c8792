// Reaching what lies behind an instance: a unix socket on it (the nesting daemon's) and an SSH server only it can
// reach (a nested VM), through real OpenSSH sshd peers.
import { chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { tmpDir } from '@fleetrunner/testing';
import { SshConnector } from '../src/index.js';
import { noOpenSsh, startOpenSsh } from './support/peers.js';

t.test('forwardUnix opens a stream to a unix socket on the instance; a missing socket is channel_open_failed', { skip: noOpenSsh }, async (t) => {
  const peer = await startOpenSsh(t, '127.100.7.1');
  const dir = tmpDir(t, { prefix: 'connector-unix' });
  chmodSync(dir, 0o755);
  const path = join(dir, 'daemon.sock');
  const server = createServer((s) => s.on('data', (d) => s.end(`echo:${d.toString()}`)));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  chmodSync(path, 0o777);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  const conn = await c.connect(peer.info('i-unix'));
  const stream = await conn.forwardUnix(path);
  let got = '';
  const ended = new Promise((resolve, reject) => {
    stream.on('data', (d: Buffer) => (got += d.toString()));
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  stream.end('hello');
  await ended;
  t.equal(got, 'echo:hello');
  await t.rejects(conn.forwardUnix(join(dir, 'nothing.sock')), { code: 'channel_open_failed', message: /nothing\.sock on instance i-unix/ });
  t.same(await conn.exec('true'), { exitCode: 0 }, 'the connection stays usable');
});

t.test('connectThrough dials an SSH server that only the instance reaches, with settings filling what ConnectInfo leaves empty', { skip: noOpenSsh }, async (t) => {
  const host = await startOpenSsh(t, '127.100.7.2');
  // The "VM": listens on an address the test reaches too, but the connection is made from the instance's side.
  const vm = await startOpenSsh(t, '127.100.7.3');
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  const conn = await c.connect(host.info('i-host'));
  const vmInfo = vm.info('vm-1');
  const nested = await c.connectThrough(conn, { ...defaultConnectorConfig(), id: 'vm-1', internalAddr: `${vmInfo.internalAddr}:${vmInfo.protocolPort}`, externalAddr: '' }, { username: vmInfo.username, key: vmInfo.key });
  let out = '';
  t.same(await nested.exec('echo inside-$((6*7))', { onStdout: (d) => (out += d.toString()) }), { exitCode: 0 });
  t.equal(out.trim(), 'inside-42');
  t.equal(vm.logins(), 1, 'one login on the nested server');
  t.equal(host.logins(), 1, 'and the host connection was reused, not re-dialled');
  nested.close();
  t.same(await conn.exec('true'), { exitCode: 0 }, 'closing the nested connection leaves the host connection open');
  await t.rejects(
    c.connectThrough(conn, { ...defaultConnectorConfig(), id: 'vm-2', internalAddr: '127.100.7.3:1', externalAddr: '' }, { username: vmInfo.username, key: vmInfo.key }),
    { code: 'unavailable', message: /127\.100\.7\.3:1/ },
    'nothing listening behind the instance',
  );
});
