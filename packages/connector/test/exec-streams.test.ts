// SshConnection.exec with stream input and output: the exec owns the errors of its stdin stream (the remote command is
// killed, the exec fails, nothing reaches the process), a stdout stream gets backpressure. Against OpenSSH sshd and a
// local plugin instance. Addresses: 127.82.200.0/24 (this file only).
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { ConnectInfo } from '@fleetrunner/fleeting';
import { waitFor } from '@fleetrunner/testing';
import { SshConnector, type Connection } from '../src/index.js';
import { Output, noOpenSsh, pidAlive, startLocal, startOpenSsh } from './support/peers.js';

const peers: { name: string; skip: string | false; start(t: Test): Promise<ConnectInfo> }[] = [
  { name: 'OpenSSH sshd', skip: noOpenSsh, start: async (t) => (await startOpenSsh(t, '127.82.200.33')).info() },
  {
    name: 'local plugin (ssh2 mode)',
    skip: false,
    start: async (t) => {
      const { group, ids } = await startLocal(t, { subnet: '127.82.200.0/28' });
      return group.connectInfo(ids[0]!);
    },
  },
];

/** A stream that sends `head`, then fails with `err` once `ready` resolves. */
function failingInput(head: string, ready: Promise<unknown>, err: Error): Readable {
  return Readable.from(
    (async function* (): AsyncGenerator<Buffer> {
      yield Buffer.from(head);
      await ready;
      throw err;
    })(),
  );
}

/** Unhandled errors of this process while `fn` runs. */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onError = (err: unknown): void => void seen.push(err);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  }
  return seen;
}

for (const peer of peers) {
  t.test(peer.name, { skip: peer.skip }, async (t) => {
    const connector = new SshConnector();
    t.teardown(() => connector.shutdown());
    const conn: Connection = await connector.connect(await peer.start(t));

    t.test('a stdin stream that fails kills the remote command and fails the exec with its error', async (t) => {
      const out = new Output();
      const broken = new Error('reading zip: invalid code lengths set');
      let shown!: () => void;
      const shellKnown = new Promise<void>((resolve) => (shown = resolve));
      let running!: Promise<unknown>;
      const unhandled = await unhandledDuring(async () => {
        running = conn.exec('echo "shell $$"; cat > /dev/null; echo "survived"', { stdin: failingInput('some bytes', shellKnown, broken), onStdout: out.write });
        const pid = Number((await out.waitFor(/^shell (\d+)$/m, running))[1]);
        shown();
        await t.rejects(running, broken, 'the exec rejects with the stream\'s error');
        await waitFor(() => !pidAlive(pid), { what: `remote shell ${pid} to be killed`, timeoutMs: 10_000 });
      });
      t.same(unhandled, [], 'nothing reached the process');
      t.notMatch(out.text, 'survived');
      t.same(await conn.exec('true'), { exitCode: 0 }, 'the connection is still usable');
    });

    t.test('a stdin stream destroyed before the command starts fails the exec', async (t) => {
      const gone = new PassThrough();
      gone.on('error', () => undefined);
      gone.destroy(new Error('archive vanished'));
      await t.rejects(conn.exec('cat', { stdin: gone }), { message: 'archive vanished' });
    });

    t.test('a command that stops reading its stdin: the rest of the stream is released', async (t) => {
      let produced = 0;
      const endless = Readable.from(
        (async function* (): AsyncGenerator<Buffer> {
          for (;;) {
            produced++;
            yield Buffer.alloc(64 * 1024, 1);
          }
        })(),
      );
      t.same(await conn.exec('head -c 10 > /dev/null', { stdin: endless }), { exitCode: 0 });
      await waitFor(() => endless.destroyed, { what: 'the stdin stream to be destroyed', timeoutMs: 10_000 });
      t.ok(produced > 0);
    });

    t.test('a stdout stream that fails kills the remote command and fails the exec', async (t) => {
      const err = new Error('disk full');
      const out = new Output();
      const sink = new Writable({
        write(_chunk, _enc, done) {
          done(err);
        },
      });
      const running = conn.exec('echo "shell $$" >&2; while :; do echo data; done', { stdout: sink, onStderr: out.write });
      const pid = Number((await out.waitFor(/^shell (\d+)$/m, running))[1]);
      await t.rejects(running, { message: 'disk full' });
      await waitFor(() => !pidAlive(pid), { what: `remote shell ${pid} to be killed`, timeoutMs: 10_000 });
    });
  });
}

t.test('a stdout stream that is not read holds the remote writer back, and gets every byte once it reads', { skip: noOpenSsh }, async (t) => {
  const connector = new SshConnector();
  t.teardown(() => connector.shutdown());
  const conn = await connector.connect((await startOpenSsh(t, '127.82.200.34')).info());
  const total = 64 * 1024 * 1024;
  let received = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, done) {
      received += chunk.length;
      released.then(() => done(), done);
    },
  });
  const err = new Output();
  const running = conn.exec(`echo "writer $$" >&2; exec head -c ${total} /dev/zero`, { stdout: sink, onStderr: err.write });
  const pid = Number((await err.waitFor(/^writer (\d+)$/m, running))[1]);
  // The writer blocks in write(2) once the SSH window and sshd's buffers are full; it cannot finish.
  await waitFor(() => /write|wait|send/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8')) && readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') S '), {
    what: `remote writer ${pid} to block`,
    timeoutMs: 20_000,
  });
  t.ok(received < total, `the writer is held back with ${received} of ${total} bytes taken`);
  t.ok(pidAlive(pid), 'the writer has not finished');
  release();
  t.same(await running, { exitCode: 0 });
  t.equal(received, total, 'every byte arrived');
});
