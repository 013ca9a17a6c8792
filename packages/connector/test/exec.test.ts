// SshConnection.exec against each kind of real peer: OpenSSH sshd (a /bin/sh user) and a local plugin instance
// (ssh2 mode, in process).
import t, { type Test } from 'tap';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import { waitFor } from '@fleetrunner/testing';
import { SshConnector, type Connection } from '../src/index.js';
import { Output, noOpenSsh, pidAlive, startLocal, startOpenSsh } from './support/peers.js';

interface Peer {
  name: string;
  skip: string | false;
  /** ConnectInfo of a fresh peer that lives as long as `t`. */
  start(t: Test): Promise<ConnectInfo>;
}

const peers: Peer[] = [
  { name: 'OpenSSH sshd', skip: noOpenSsh, start: async (t) => (await startOpenSsh(t, '127.100.2.33')).info() },
  {
    name: 'local plugin (ssh2 mode)',
    skip: false,
    start: async (t) => {
      const { group, ids } = await startLocal(t, { subnet: '127.100.2.0/28' });
      return group.connectInfo(ids[0]!);
    },
  },
];

async function connectTo(t: Test, info: ConnectInfo): Promise<Connection> {
  const connector = new SshConnector();
  t.teardown(() => connector.shutdown());
  return connector.connect(info);
}

for (const peer of peers) {
  t.test(peer.name, { skip: peer.skip }, async (t) => {
    const conn = await connectTo(t, await peer.start(t));

    t.test('stdout, stderr, stdin and exit codes; the marker line never reaches the caller', async (t) => {
      const out = new Output();
      const err = new Output();
      const res = await conn.exec('echo "to stdout"; echo "to stderr" >&2; cat; exit 7', { stdin: 'from stdin\n', onStdout: out.write, onStderr: err.write });
      t.same(res, { exitCode: 7 });
      t.equal(out.text, 'to stdout\nfrom stdin\n');
      t.equal(err.text, 'to stderr\n');
      t.same(await conn.exec('true'), { exitCode: 0 });
      t.same(await conn.exec('kill -KILL $$'), { exitCode: null, signal: 'KILL' }, 'death by signal is reported as the signal');
    });

    t.test('aborting kills the remote process group, background children included', async (t) => {
      const out = new Output();
      const ac = new AbortController();
      const reason = new Error('stop now');
      const running = conn.exec('sleep 300 & echo "bg $!"; sh -c "sleep 301" & echo "bg2 $!"; echo "shell $$"; wait', { onStdout: out.write, signal: ac.signal, killGraceMs: 5_000 });
      const pids = await Promise.all([/^bg (\d+)$/m, /^bg2 (\d+)$/m, /^shell (\d+)$/m].map(async (re) => Number((await out.waitFor(re, running))[1])));
      t.ok(pids.every(pidAlive), 'the remote processes run');
      ac.abort(reason);
      await t.rejects(running, reason, 'the exec rejects with the signal\'s reason');
      await waitFor(() => pids.every((pid) => !pidAlive(pid)), { what: `remote pids ${pids.join(', ')} to exit`, timeoutMs: 10_000 });
      t.same(await conn.exec('true'), { exitCode: 0 }, 'the connection is still usable');
    });

    t.test('a group that ignores TERM is killed after killGraceMs', async (t) => {
      const out = new Output();
      const ac = new AbortController();
      const graceMs = 600;
      // An ignored signal stays ignored across exec, so the sleep ignores TERM as well.
      const running = conn.exec('trap "" TERM; sleep 300 & echo "bg $!"; wait; echo survived', { onStdout: out.write, signal: ac.signal, killGraceMs: graceMs });
      const pid = Number((await out.waitFor(/^bg (\d+)$/m, running))[1]);
      const t0 = Date.now();
      ac.abort(new Error('stop'));
      await t.rejects(running, { message: 'stop' });
      t.ok(Date.now() - t0 >= graceMs - 100, `the exec waited out the grace period (${Date.now() - t0} ms)`);
      await waitFor(() => !pidAlive(pid), { what: `remote pid ${pid} to die of KILL`, timeoutMs: 10_000 });
      t.notMatch(out.text, 'survived');
    });

    t.test('an already aborted signal opens no channel', async (t) => {
      const reason = new Error('too late');
      const out = new Output();
      await t.rejects(conn.exec('echo ran', { signal: AbortSignal.abort(reason), onStdout: out.write }), reason);
      t.equal(out.text, '');
    });
  });
}

t.test('a login that prints before the command: its lines pass through and abort still finds the group', { skip: noOpenSsh }, async (t) => {
  // sshd runs a ForceCommand through the login shell: this one talks like a noisy rc file, then runs the command.
  const peer = await startOpenSsh(t, '127.100.2.17', ['ForceCommand=echo "welcome from rc"; printf "no newline: "; eval "$SSH_ORIGINAL_COMMAND"']);
  const conn = await connectTo(t, peer.info());
  const out = new Output();
  t.same(await conn.exec('echo hello', { onStdout: out.write }), { exitCode: 0 });
  t.equal(out.text, 'welcome from rc\nno newline: hello\n');
  const bg = new Output();
  const ac = new AbortController();
  const running = conn.exec('sleep 300 & echo "bg $!"; wait', { onStdout: bg.write, signal: ac.signal });
  const pid = Number((await bg.waitFor(/bg (\d+)$/m, running))[1]);
  ac.abort(new Error('stop'));
  await t.rejects(running, { message: 'stop' });
  await waitFor(() => !pidAlive(pid), { what: `remote pid ${pid} to exit`, timeoutMs: 10_000 });
});
