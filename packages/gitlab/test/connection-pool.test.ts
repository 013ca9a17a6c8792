import t, { type Test } from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket, AddressInfo } from 'node:net';
import { FakeClock } from '@fleetrunner/common';
import { ApiTransport } from '../src/index.js';

/** A keep-alive HTTP server that tells which TCP connection (numbered from 1) each request came on. */
async function countingServer(t: Test, host: string): Promise<{ url: string; connectionOf: number[] }> {
  const ids = new WeakMap<Socket, number>();
  let n = 0;
  const connectionOf: number[] = [];
  const s = createServer((req: IncomingMessage, res) => {
    connectionOf.push(ids.get(req.socket) ?? 0);
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  s.on('connection', (sock: Socket) => ids.set(sock, ++n));
  s.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  t.teardown(() => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))));
  return { url: `http://${host}:${(s.address() as AddressInfo).port}`, connectionOf };
}

const get = async (tr: ApiTransport): Promise<void> => {
  const res = await tr.send({ method: 'GET', path: 'version', endpoint: 'version' });
  await res.arrayBuffer();
};

t.test('connection_max_age: no connection made before the age is used for a request after it', async (t) => {
  const { url, connectionOf } = await countingServer(t, '127.97.5.1');
  const clock = new FakeClock();
  const tr = new ApiTransport({ url, clock, connectionMaxAgeMs: 60_000 });
  t.teardown(() => tr.close());
  await get(tr);
  await get(tr);
  await clock.advance(59_000);
  await get(tr);
  t.equal(tr.poolsCreated, 1, 'one pool while younger than connection_max_age');
  const before = new Set(connectionOf);
  await clock.advance(2_000);
  await get(tr);
  await get(tr);
  t.equal(tr.poolsCreated, 2, 'a new pool once the first is older than connection_max_age');
  const after = connectionOf.slice(3);
  t.same(after.filter((c) => before.has(c)), [], `requests after the age use new connections only (before: ${[...before].join(',')}; after: ${after.join(',')})`);
});

t.test('connection_max_age ≤ 0: no limit', async (t) => {
  const { url } = await countingServer(t, '127.97.5.2');
  const clock = new FakeClock();
  const tr = new ApiTransport({ url, clock, connectionMaxAgeMs: 0 });
  t.teardown(() => tr.close());
  await get(tr);
  await clock.advance(24 * 3600_000);
  await get(tr);
  t.equal(tr.poolsCreated, 1);
});
