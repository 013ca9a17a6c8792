// Connection reuse, re-dial after the server drops a connection, shared concurrent dials, forget and shutdown —
// against a real OpenSSH sshd, whose log counts the logins.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { descendants, waitFor } from '@fleetrunner/testing';
import { SshConnector, type Connection } from '../src/index.js';
import { Output, noOpenSsh, startOpenSsh, type OpenSshPeer } from './support/peers.js';

/** `SSH_CLIENT`'s source port: the same for every exec on one connection, new for each connection. */
async function clientPort(conn: Connection): Promise<string> {
  const out = new Output();
  await conn.exec('echo "$SSH_CLIENT"', { onStdout: out.write });
  return out.text.trim().split(' ')[1] ?? '';
}

/** Kills sshd's per-connection processes (not the listener): the server side of every connection drops. */
function dropConnections(peer: OpenSshPeer): void {
  const listener = Number(execFileSync('pgrep', ['-f', `ListenAddress=${peer.sshd.host}:${peer.sshd.port}`], { encoding: 'utf8' }).trim().split('\n')[0]);
  const sessions = descendants(listener).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sshd';
    } catch {
      return false;
    }
  });
  if (sessions.length === 0) throw new Error('no sshd connection processes found');
  for (const pid of sessions) process.kill(pid, 'SIGKILL');
}

if (noOpenSsh) {
  t.test('connection reuse', { skip: noOpenSsh }, async () => {});
} else {
  t.test('execs share one connection; concurrent connects share one dial', async (t) => {
    const peer = await startOpenSsh(t, '127.100.3.1');
    const c = new SshConnector();
    t.teardown(() => c.shutdown());
    const conns = await Promise.all([1, 2, 3, 4].map(() => c.connect(peer.info('i-1'))));
    t.ok(conns.every((x) => x === conns[0]), 'every caller got the same connection');
    t.equal(peer.logins(), 1, 'one login for four concurrent connects');
    const ports = await Promise.all([1, 2, 3].map(() => clientPort(conns[0]!)));
    ports.push(await clientPort(await c.connect(peer.info('i-1'))));
    t.equal(new Set(ports).size, 1, `every exec ran over one TCP connection (port ${ports[0]})`);
    t.equal(peer.logins(), 1, 'a later connect reuses it too');
    const other = await c.connect(peer.info('i-2'));
    t.not(other, conns[0], 'another instance id gets its own connection');
    t.equal(peer.logins(), 2);
  });

  t.test('a dropped connection fails its running exec with unavailable; the next connect dials again', async (t) => {
    const peer = await startOpenSsh(t, '127.100.3.2');
    const c = new SshConnector();
    t.teardown(() => c.shutdown());
    const conn = await c.connect(peer.info('i-1'));
    const before = await clientPort(conn);
    const out = new Output();
    const running = conn.exec('echo "group $$"; sleep 300', { onStdout: out.write });
    const pgid = Number((await out.waitFor(/^group (\d+)$/m, running))[1]);
    // The server side dies without closing the session: its shell lives on, as on a VM whose sshd crashed.
    t.teardown(() => {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    dropConnections(peer);
    await t.rejects(running, { code: 'unavailable', message: /connection to instance i-1 .* lost/ });
    t.equal(conn.state, 'closed');
    await t.rejects(conn.exec('true'), { code: 'unavailable' }, 'a closed connection refuses new execs');
    const again = await c.connect(peer.info('i-1'));
    t.not(again, conn, 'a new connection');
    t.equal(again.state, 'open');
    t.not(await clientPort(again), before, 'over a new TCP connection');
    t.equal(peer.logins(), 2);
  });

  t.test('forget closes the instance\'s connection; shutdown closes all and refuses new ones', async (t) => {
    const peer = await startOpenSsh(t, '127.100.3.3');
    const c = new SshConnector();
    t.teardown(() => c.shutdown());
    const a = await c.connect(peer.info('i-1'));
    const b = await c.connect(peer.info('i-2'));
    c.forget('i-1');
    t.equal(c.hostKeys.get('i-1'), undefined, 'the pinned key is forgotten');
    await waitFor(() => a.state === 'closed', { what: 'the forgotten connection to close' });
    t.equal(b.state, 'open');
    c.shutdown();
    await waitFor(() => b.state === 'closed', { what: 'shutdown to close the other connection' });
    await t.rejects(c.connect(peer.info('i-2')), { code: 'unavailable', message: /shut down/ });
  });
}
