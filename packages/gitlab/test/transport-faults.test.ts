import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@fleetrunner/common';
import { ApiTransport, GitLabClient, JobTrace, maskText } from '../src/index.js';
import { messageOf } from '../src/http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A plain HTTP server on its own loopback address; `handler` decides per request. */
async function server(t: Test, host: string, handler: Handler): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      }),
  );
  return { url: `http://${host}:${(s.address() as AddressInfo).port}`, seen };
}

const drain = async (req: IncomingMessage): Promise<void> => {
  for await (const _ of req) void _;
};

t.test('a request that gets no answer fails with timeout on the injected clock', async (t) => {
  const { url, seen } = await server(t, '127.83.0.1', (req) => void drain(req));
  const clock = new FakeClock();
  const transport = new ApiTransport({ url, clock, responseHeaderTimeoutMs: 5_000 });
  const sent = transport.send({ endpoint: 'patch_trace', method: 'PATCH', path: 'jobs/1/trace', body: () => 'x' });
  const outcome = sent.then(
    () => 'answered',
    (err: unknown) => err,
  );
  while (seen.length === 0) await new Promise((r) => setImmediate(r));
  await clock.advance(4_999);
  t.equal(await Promise.race([outcome, new Promise((r) => setImmediate(() => r('pending')))]), 'pending', 'still waiting just before the timeout');
  await clock.advance(1);
  t.match(await outcome, { code: 'timeout', message: /PATCH .*jobs\/1\/trace: no response within 5s/, details: { endpoint: 'patch_trace', transport: true } });
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});

t.test('a streamed body that keeps moving is not cut off, however long it takes', async (t) => {
  const { url } = await server(t, '127.83.0.2', (req, res) => {
    void drain(req).then(() => res.writeHead(201).end());
  });
  const clock = new FakeClock();
  const transport = new ApiTransport({ url, clock, responseHeaderTimeoutMs: 5_000 });
  async function* slow(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 4; i++) {
      yield Buffer.alloc(1024, i);
      await clock.advance(3_000);
    }
  }
  const res = await transport.send({ endpoint: 'upload_artifacts', method: 'POST', path: 'jobs/1/artifacts', body: () => slow() });
  t.equal(res.status, 201, '12 s of upload with a 5 s no-progress timeout');
});

t.test('messageOf masks what it quotes and never quotes a 2xx body', async (t) => {
  const jobToken = 'plainjobtoken123456';
  const other = 'glrt-abcdefghijklmnopqrstu';
  const { url } = await server(t, '127.83.0.3', (req, res) => {
    void drain(req).then(() => {
      if (req.url?.includes('ok')) res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`token ${jobToken}`);
      else if (req.url?.includes('json')) res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: { token: [`${jobToken} is invalid`] } }));
      else res.writeHead(409, { 'Content-Type': 'text/plain' }).end(`conflict: ${jobToken} / ${other} / extra-secret`);
    });
  });
  const transport = new ApiTransport({ url });
  const call = (path: string): Promise<Response> =>
    transport.send({ endpoint: 'x', method: 'PUT', path, headers: { 'JOB-TOKEN': jobToken }, secrets: ['extra-secret'], retry: false });
  t.equal(await messageOf(await call('jobs/1')), 'conflict: [MASKED] / glrt-[MASKED] / [MASKED]');
  t.equal(await messageOf(await call('jobs/1?json')), '{"token":["[MASKED] is invalid"]}');
  t.equal(await messageOf(await call('jobs/1?ok')), '', 'a 2xx body is a payload, not a message');
  t.equal(maskText('a glcbt-xyz b', []), 'a glcbt-[MASKED] b');
});

t.test('a dropped connection on PUT jobs/:id is a failed update to retry, not an abort', async (t) => {
  const { url } = await server(t, '127.83.0.4', (req, res) => void drain(req).then(() => res.destroy()));
  const c = new GitLabClient({ url, token: 'glrt-runner' });
  const r = await c.updateJob({ id: 7, token: 'job-token' }, { state: 'success' });
  t.equal(r.outcome, 'failed');
  t.equal(r.status, 0);
  t.match(r.transportError, { code: 'unavailable' });
});

t.test('the final update retries dropped connections with back-off from 1 s and gives up after the limit', async (t) => {
  let drops = 3;
  const puts: string[] = [];
  const { url } = await server(t, '127.83.0.5', (req, res) => {
    void drain(req).then(() => {
      if (req.method === 'PATCH') return res.writeHead(202).end();
      puts.push(req.method ?? '');
      if (drops-- > 0) return res.destroy();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('200');
    });
  });
  const c = new GitLabClient({ url, token: 'glrt-runner' });
  const clock = new FakeClock();
  const trace = new JobTrace({ api: c, job: { id: 7, token: 'job-token' }, clock });
  trace.write('log\n');
  const started = clock.now();
  const done = trace.finish({ state: 'success' });
  let settled = false;
  void done.finally(() => (settled = true));
  while (!settled) {
    await new Promise((r) => setImmediate(r));
    if (clock.pendingTimers > 0) await clock.advance(250);
  }
  t.match(await done, { outcome: 'ok', attempts: 4 }, 'three drops, then 200');
  t.ok(clock.now() - started >= 7_000, 'waited 1 s, 2 s, then 4 s');
  t.equal(puts.length, 4);

  const c2 = new GitLabClient({ url, token: 'glrt-runner' });
  drops = 1_000;
  const clock2 = new FakeClock();
  const trace2 = new JobTrace({ api: c2, job: { id: 8, token: 'job-token' }, clock: clock2, finalUpdateRetryLimit: 2 });
  const started2 = clock2.now();
  const gaveUp = trace2.finish({ state: 'failed', reason: 'script_failure' });
  let over = false;
  void gaveUp.finally(() => (over = true));
  while (!over) {
    await new Promise((r) => setImmediate(r));
    if (clock2.pendingTimers > 0) await clock2.advance(250);
  }
  t.match(await gaveUp, { outcome: 'gave_up', attempts: 3 });
  t.ok(clock2.now() - started2 >= 3_000, 'waited 1 s, then 2 s');
});
