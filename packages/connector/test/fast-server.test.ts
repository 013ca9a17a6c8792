// An in-process ssh2 server that answers an exec in one burst — open reply, output, exit status, EOF and close
// written in the same tick — as a fast instance does when the manager's event loop is busy: the client then reads
// every packet at once. The exec must still see the exit status and the abort.
import t, { type Test } from 'tap';
import ssh2, { type ServerChannel } from 'ssh2';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { generateEd25519 } from '@fleetrunner/testing';
import { SshConnector } from '../src/index.js';
import { Output } from './support/peers.js';

type OnExec = (stream: ServerChannel, command: string) => void;

async function burstServer(t: Test, onExec: OnExec): Promise<number> {
  const server = new ssh2.Server({ hostKeys: [generateEd25519('burst-host').privateKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => onExec(acceptExec(), info.command));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.100.7.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

async function connect(t: Test, port: number) {
  const c = new SshConnector();
  t.teardown(() => c.shutdown());
  return c.connect({ ...defaultConnectorConfig(), id: 'burst', internalAddr: '127.100.7.1', externalAddr: '', protocolPort: port, username: 'u', password: 'p' });
}

t.test('exit status, output and close in the same read as the open reply', async (t) => {
  const port = await burstServer(t, (stream, command) => {
    const pid = /^echo "(FLEETRUNNER-[0-9a-f]+:)\$\$"/.exec(command)?.[1];
    stream.write(`${pid ?? ''}4242\nhello\n`);
    stream.exit(3);
    stream.end();
  });
  const conn = await connect(t, port);
  for (let i = 0; i < 20; i++) {
    const out = new Output();
    t.same(await conn.exec('echo hello; exit 3', { onStdout: out.write }), { exitCode: 3 }, `exec #${i + 1} saw the exit status`);
    t.equal(out.text, 'hello\n');
  }
});

t.test('a signal aborted while the channel opens still kills the remote group', { timeout: 15_000 }, async (t) => {
  const ac = new AbortController();
  const kills: string[] = [];
  const port = await burstServer(t, (stream, command) => {
    if (command.includes('kill -TERM')) {
      kills.push(/kill -TERM (-\d+)/.exec(command)?.[1] ?? '');
      stream.exit(0);
      stream.end();
      return;
    }
    // The abort lands while the client still waits for the open reply; the command never ends by itself.
    ac.abort(new Error('aborted during open'));
    const mark = /^echo "(FLEETRUNNER-[0-9a-f]+:)\$\$"/.exec(command)?.[1] ?? '';
    stream.write(`${mark}4242\n`);
  });
  const conn = await connect(t, port);
  await t.rejects(conn.exec('sleep 300', { signal: ac.signal, killGraceMs: 100 }), { message: 'aborted during open' });
  t.same(kills, ['-4242'], 'the group was killed once');
});
