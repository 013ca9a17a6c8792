import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '@fleetrunner/common';
import { parseConfig, parseToml, tomlToPlain } from '@fleetrunner/config';
import { removeRunnerBlocks, runnerBlock, runnerBlocks, tomlString } from '@fleetrunner/config';
import { InflightJobs } from '../src/inflight-jobs.js';
import { RequestLimit, RunnerHealth, requestBackoff } from '../src/runner-health.js';
import { runnerKey, shortToken } from '@fleetrunner/gitlab';
import { Workers } from '../src/workers.js';
import { splitListenAddress } from '../src/metrics-server.js';

t.test('short tokens as GitLab Runner shortens them', async (t) => {
  const cases: [string, string][] = [
    ['glrt-abcdefghijklmnop', 'abcdefghi'],
    ['glrt-t1_abcdefghijklmnop', 'abcdefghi'],
    ['t2_abcdefghijklmnop', 'abcdefghi'],
    ['glrtr-abcdefghijklmnop', 'abcdefghi'],
    ['glcbt-abcdefghijklmnop', 'abcdefghi'],
    ['GR1348941abcdefghijklmnop', 'abcdefghi'],
    ['abcdefghijklmnop', 'abcdefghi'],
    ['short', 'short'],
  ];
  for (const [token, want] of cases) t.equal(shortToken(token), want, token);
  t.equal(runnerKey({ url: 'https://g', id: 7, token: 'x' }), 'https://g|7');
  t.equal(runnerKey({ url: 'https://g', id: 0, token: 'x' }), 'https://g|token:x');
});

t.test('listen_address: host:port, [v6]:port, :port', async (t) => {
  t.same(splitListenAddress('[::1]:9252'), { host: '::1', port: 9252 });
  t.same(splitListenAddress(':0'), { host: '', port: 0 });
  t.throws(() => splitListenAddress('nohost'), /host:port/);
});

t.test('runner health: the limit pauses requests, probes go out at a doubling pace, the first answer resumes', async (t) => {
  const h = new RunnerHealth(nullLogger);
  const hour = 3_600_000;
  t.equal(h.mark(false, 0, 2, hour), false);
  t.ok(h.admit(1, hour), 'healthy below the limit');
  t.equal(h.mark(false, 10, 2, hour), true, 'the second failure makes it unhealthy');
  t.ok(h.isUnhealthy);
  t.notOk(h.admit(1_009, hour), 'no request before the first probe wait (1 s)');
  t.ok(h.admit(1_010, hour), 'the first probe');
  t.notOk(h.admit(1_011, hour), 'one probe per wait');
  h.mark(false, 1_020, 2, hour);
  t.notOk(h.admit(3_009, hour), 'the wait doubled (2 s)');
  t.ok(h.admit(3_010, hour));
  for (let at = 3_010, i = 0; i < 10; i++) {
    at += 60_000;
    t.ok(h.admit(at, hour), `probe ${i + 3} within 60 s: the wait is capped well below unhealthy_interval`);
  }
  h.mark(true, 700_000, 2, hour);
  t.notOk(h.isUnhealthy, 'the first answer makes it healthy');
  t.ok(h.admit(700_001, hour));
  t.equal(h.consecutiveFailures, 0);
  h.mark(false, 700_002, 2, hour);
  h.mark(true, 700_003, 2, hour);
  h.mark(false, 700_004, 2, hour);
  t.notOk(h.isUnhealthy, 'a success in between resets the count');
  const forbidden = new RunnerHealth(nullLogger);
  forbidden.mark(false, 0, 1, hour, 'forbidden');
  t.notOk(forbidden.admit(hour - 1, hour), 'after a 403 the next request waits unhealthy_interval, as upstream');
  t.ok(forbidden.admit(hour, hour));
  forbidden.mark(false, hour + 5, 1, hour, 'forbidden');
  t.notOk(forbidden.admit(hour + 120_000, hour), 'a probe answered 403 waits the interval again');
  const short = new RunnerHealth(nullLogger);
  short.mark(false, 0, 1, 5_000);
  for (let at = 1_000, i = 0; i < 6; i++, at += 5_000) t.ok(short.admit(at, 5_000), 'probes never wait longer than unhealthy_interval');
});

t.test('the job request back-off doubles from 1 s to 60 s and resets on success', async (t) => {
  const b = requestBackoff();
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map(() => b.fail(0)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  t.equal(b.remaining(59_999), 1);
  b.succeed();
  t.equal(b.remaining(0), 0);
});

t.test('adaptive request concurrency: ×1.1 on a job, ×0.95 on none, ×0.5 after retries, within [1, max]', async (t) => {
  const l = new RequestLimit(4, true);
  t.equal(l.limit, 4);
  l.observe('retried');
  t.equal(l.adaptive, 2);
  for (let i = 0; i < 50; i++) l.observe('empty');
  t.equal(l.adaptive, 1, 'never below 1');
  for (let i = 0; i < 50; i++) l.observe('job');
  t.equal(l.adaptive, 4, 'never above request_concurrency');
  t.ok(l.tryAcquire() && l.tryAcquire() && l.tryAcquire() && l.tryAcquire());
  t.notOk(l.tryAcquire(), 'the fifth request waits');
  l.release();
  t.ok(l.tryAcquire());
  const fixed = new RequestLimit(3, false);
  fixed.observe('retried');
  t.equal(fixed.limit, 3, 'without the feature flag the limit is fixed');
});

t.test('workers: FIFO waiters, live resize, idle', async (t) => {
  const w = new Workers(1);
  t.ok(w.tryAcquire());
  const order: number[] = [];
  const stop = new AbortController();
  const a = w.acquire(stop.signal).then(() => order.push(1));
  const b = w.acquire(stop.signal).then(() => order.push(2));
  const aborted = new AbortController();
  const c = w.acquire(aborted.signal);
  aborted.abort(new Error('stop'));
  await t.rejects(c, /stop/);
  t.notOk(w.tryAcquire(), 'no slot while others wait');
  w.setLimit(2);
  await a;
  t.same(order, [1]);
  w.release();
  await b;
  t.same(order, [1, 2]);
  let idle = false;
  const done = w.idle().then(() => (idle = true));
  w.release();
  await Promise.resolve();
  t.notOk(idle);
  w.release();
  await done;
  t.ok(idle);
});

t.test('in-flight jobs persist through a restart until dealt with', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'run-inflight-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'jobs.json');
  const a = new InflightJobs(file, nullLogger);
  await Promise.all([a.add({ id: 1, token: 'glcbt-a', url: 'http://g', startedAt: 5 }), a.add({ id: 2, token: 'glcbt-b', url: 'http://g', startedAt: 6 })]);
  t.equal(statSync(file).mode & 0o777, 0o600, 'job tokens are readable by the owner only');
  const b = new InflightJobs(file, nullLogger);
  t.same((await b.load()).map((j) => j.id), [1, 2]);
  await b.add({ id: 3, token: 'glcbt-c', url: 'http://g', startedAt: 7 });
  t.match(readFileSync(file, 'utf8'), /"id":1.*"id":2.*"id":3/, 'orphans stay recorded while new jobs come');
  await b.remove(1);
  await b.remove(2);
  t.same((await new InflightJobs(file, nullLogger).load()).map((j) => j.id), [3]);
  t.same(await new InflightJobs(join(dir, 'none.json'), nullLogger).load(), []);
});

t.test('config file editing: a register block parses back; runner entries are found and removed as text', async (t) => {
  const block = runnerBlock(
    { name: 'a "quoted"\tname', url: 'https://g', id: 3, token: 'glrt-x', token_obtained_at: new Date('2026-01-02T03:04:05.678Z'), limit: undefined },
    { autoscaler: { plugin: 'local', capacity_per_instance: 2 } },
  );
  const plain = tomlToPlain(parseToml(`concurrent = 1\n${block}`)) as { runners: Record<string, unknown>[] };
  t.same(plain.runners[0]!['name'], 'a "quoted"\tname');
  t.same(plain.runners[0]!['autoscaler'], { plugin: 'local', capacity_per_instance: 2 });
  t.notMatch(block, /limit/, 'undefined values are left out');
  t.equal(tomlString('\u0001é'), '"\\u0001é"');

  const text = [
    'concurrent = 2',
    '# first',
    '[[runners]]',
    '  name = "one"',
    '  pre_build_script = """',
    '[[runners]]',
    '"""',
    '  [runners.autoscaler]',
    '    plugin = "a"',
    '[[ runners ]] # spaced',
    '  name = "two"',
    '  [runners.autoscaler.plugin_config]',
    '    x = 1',
    '[session_server]',
    '  session_timeout = 1',
    '[[runners]]',
    '  name = "three"',
    '',
  ].join('\n');
  t.same(
    runnerBlocks(text).map((b) => b.line),
    [3, 10, 16],
    'the headers, not the one inside the multi-line string',
  );
  const without = removeRunnerBlocks(text, new Set([1]));
  t.notMatch(without, /two/);
  t.match(without, /name = "one"[\s\S]*\[session_server\][\s\S]*name = "three"/);
  const parsed = parseConfig(without, { env: {} });
  t.same(parsed.config?.runners.map((r) => r.name), ['one', 'three'], 'the result is still a config with the other runners');
});
