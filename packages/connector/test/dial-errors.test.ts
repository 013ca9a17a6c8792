// Dial failures and their codes, against real OpenSSH sshd and real sockets that misbehave.
import { createServer, type Server, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { defaultConnectorConfig, type ConnectInfo } from '@fleetrunner/fleeting';
import { generateEd25519 } from '@fleetrunner/testing';
import { HostKeyStore, SshConnector } from '../src/index.js';
import { noOpenSsh, startOpenSsh } from './support/peers.js';

function connector(t: Test): SshConnector {
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  return c;
}

/** A TCP server on `host` that hands each connection to `onConnection`; closed (with its sockets) at teardown. */
async function rawServer(t: Test, host: string, onConnection: (s: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, sockets };
}

function infoAt(host: string, port: number, over: Partial<ConnectInfo> = {}): ConnectInfo {
  return { ...defaultConnectorConfig(), id: 'i-raw', internalAddr: host, externalAddr: '', protocolPort: port, username: 'nobody', password: 'x', ...over };
}

t.test('credentials the instance does not accept → auth_failed naming what was tried; a failed dial is not kept', { skip: noOpenSsh }, async (t) => {
  const peer = await startOpenSsh(t, '127.100.1.1');
  const c = connector(t);
  const cases: [string, Partial<ConnectInfo>, RegExp][] = [
    ['a key the instance does not authorize', { key: Buffer.from(generateEd25519('stranger').privateKey) }, /authentication failed \(tried key\)/],
    ['a password (the instance takes keys only)', { key: new Uint8Array(), password: 'guess' }, /authentication failed \(tried password\)/],
    ['nothing at all', { key: new Uint8Array(), password: '' }, /authentication failed \(no key or password was provided\)/],
  ];
  for (const [name, over, message] of cases) {
    await t.rejects(c.connect(peer.info('i-1', over)), { code: 'auth_failed', message }, name);
  }
  t.equal(peer.logins(), 0);
  const conn = await c.connect(peer.info('i-1'));
  t.same(await conn.exec('true'), { exitCode: 0 }, 'the right key then dials afresh and logs in');
  t.equal(peer.logins(), 1);
});

t.test('a different host key under the same instance id → host_key_changed, and no login is attempted', { skip: noOpenSsh }, async (t) => {
  const first = await startOpenSsh(t, '127.100.1.2');
  const second = await startOpenSsh(t, '127.100.1.3');
  const hostKeys = new HostKeyStore();
  const c = new SshConnector({ hostKeys });
  t.teardown(() => c.shutdown());
  const conn = await c.connect(first.info('i-7'));
  t.equal(hostKeys.get('i-7'), HostKeyStore.fingerprint(first.sshd.hostKeyBlob), 'the first key seen is pinned');
  conn.close();
  // The connection is gone and the id now answers with another key: the pin must refuse it.
  const err = await c.connect(second.info('i-7')).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof RunnerError && err.code === 'host_key_changed', `rejected with host_key_changed: ${String(err)}`);
  t.match(String((err as Error).message), HostKeyStore.fingerprint(first.sshd.hostKeyBlob), 'the error names the pinned key');
  await t.rejects(c.connect(second.info('i-7')), { code: 'host_key_changed' }, 'the pin stays');
  t.equal(second.logins(), 0, 'no credentials were offered to the impostor');
  t.notMatch(second.sshd.log(), /Failed|publickey|password/, 'the server saw no authentication attempt');
  c.forget('i-7');
  const again = await c.connect(second.info('i-7'));
  t.same(await again.exec('true'), { exitCode: 0 }, 'after forget (a new instance reusing the id) the new key is pinned');
  t.equal(hostKeys.get('i-7'), HostKeyStore.fingerprint(second.sshd.hostKeyBlob));
});

t.test('nothing listening → connection_refused', async (t) => {
  const { server, port } = await rawServer(t, '127.100.1.4', () => undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.rejects(connector(t).connect(infoAt('127.100.1.4', port)), { code: 'connection_refused', message: new RegExp(`127\\.100\\.1\\.4:${port}`) });
});

t.test('a listener that never speaks SSH → timeout after the connector timeout', async (t) => {
  const { port, sockets } = await rawServer(t, '127.100.1.5', () => undefined);
  const t0 = Date.now();
  await t.rejects(connector(t).connect(infoAt('127.100.1.5', port, { timeoutMs: 400 })), {
    code: 'timeout',
    message: /SSH handshake timed out after 400 ms/,
  });
  t.ok(Date.now() - t0 >= 380, `waited the whole timeout (${Date.now() - t0} ms)`);
  t.equal(sockets.length, 1, 'the TCP connection was made');
});

t.test('a server that drops the connection → unavailable at once, and the process survives', async (t) => {
  const cases: [string, (s: Socket) => void][] = [
    ['closed before any byte', (s) => s.destroy()],
    ['reset before any byte', (s) => s.resetAndDestroy()],
    ['closed after the banner', (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n')],
    ['not SSH at all', (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')],
  ];
  for (const [i, [name, behave]] of cases.entries()) {
    const { port } = await rawServer(t, `127.100.1.${10 + i}`, behave);
    // A handshake timeout far beyond the test's: a hang (ssh2 drops its timer on close) fails by tap's timeout.
    for (let n = 0; n < 10; n++) {
      await t.rejects(connector(t).connect(infoAt(`127.100.1.${10 + i}`, port, { timeoutMs: 600_000 })), { code: 'unavailable' }, `${name} #${n + 1}`);
    }
  }
});

t.test('aborting a dial rejects with aborted and closes the socket; an aborted signal dials nothing', async (t) => {
  let connected: (s: Socket) => void = () => undefined;
  const arrived = new Promise<Socket>((resolve) => (connected = resolve));
  const { port, sockets } = await rawServer(t, '127.100.1.6', (s) => connected(s));
  const ac = new AbortController();
  const dialing = connector(t).connect(infoAt('127.100.1.6', port), { signal: ac.signal });
  const sock = await arrived;
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  ac.abort(new Error('never mind'));
  await t.rejects(dialing, { code: 'aborted' });
  await closed;
  t.pass('the server saw the socket close');
  await t.rejects(connector(t).connect(infoAt('127.100.1.6', port), { signal: AbortSignal.abort() }), { code: 'aborted' });
  t.equal(sockets.length, 1, 'no second TCP connection');
});
