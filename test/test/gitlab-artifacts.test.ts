import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@fleetrunner/common';
import { GitLabClient, zipStream, extractZip, type JobPayload, type ZipEntrySource, type RetryEvent } from '@fleetrunner/gitlab';
import { startGitLabStandin, type GitLabStandin, type GitLabStandinOptions } from '../src/index.js';

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function running(t: Test, o: GitLabStandinOptions = {}, clock?: FakeClock): Promise<{ s: GitLabStandin; c: GitLabClient; take(): Promise<JobPayload> }> {
  const s = await startGitLabStandin({ longPollMs: 0, ...o });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const c = new GitLabClient({
    url: s.url,
    token,
    ...(clock ? { clock, onRetry: (e: RetryEvent) => setImmediate(() => void clock.advance(e.delayMs)) } : {}),
  });
  const take = async (): Promise<JobPayload> => {
    s.enqueueJob({});
    const { job } = await c.requestJob();
    if (!job) throw new Error('no job');
    await c.updateJob(job, { state: 'running' });
    return job;
  };
  return { s, c, take };
}

/** A workspace with a few files and the archive entries for them. */
function workspace(): { dir: string; entries: () => ZipEntrySource[] } {
  const dir = mkdtempSync(join(tmpdir(), 'fr-art-'));
  mkdirSync(join(dir, 'out/sub'), { recursive: true });
  writeFileSync(join(dir, 'out/report.txt'), 'all good\n');
  writeFileSync(join(dir, 'out/sub/data.bin'), Buffer.alloc(200_000, 7));
  writeFileSync(join(dir, 'out/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  const entries = (): ZipEntrySource[] => [
    { name: 'out/', mtime: statSync(join(dir, 'out')).mtime },
    { name: 'out/report.txt', file: join(dir, 'out/report.txt'), mtime: statSync(join(dir, 'out/report.txt')).mtime },
    { name: 'out/sub/', mtime: statSync(join(dir, 'out/sub')).mtime },
    { name: 'out/sub/data.bin', file: join(dir, 'out/sub/data.bin') },
    { name: 'out/run.sh', file: join(dir, 'out/run.sh'), mode: 0o100755 },
  ];
  return { dir, entries };
}

t.test('an artifacts zip is uploaded as multipart, reads with unzip, and a dependent job downloads and extracts it', async (t) => {
  const { s, c, take } = await running(t);
  const ws = workspace();
  const build = await take();
  await c.uploadArtifacts(build, { body: () => zipStream(ws.entries()), filename: 'artifacts.zip', format: 'zip', type: 'archive', expireIn: '1 week' });
  const stored = s.artifactsOf(build.id);
  t.equal(stored.length, 1);
  t.match(stored[0], { type: 'archive', format: 'zip', filename: 'artifacts.zip', expireIn: '1 week' });
  const up = s.requests.find((r) => r.method === 'POST' && r.path.endsWith('/artifacts'));
  t.match(up?.headers['content-type'], /^multipart\/form-data; boundary=/);
  t.equal(up?.headers['job-token'], build.token);

  const copy = join(ws.dir, 'stored.zip');
  writeFileSync(copy, stored[0]!.data);
  const listing = sh('unzip', ['-l', copy]);
  for (const name of ['out/report.txt', 'out/sub/data.bin', 'out/run.sh']) t.ok(listing.includes(name), `unzip -l lists ${name}`);
  t.doesNotThrow(() => sh('python3', ['-m', 'zipfile', '-t', copy]), 'python3 -m zipfile -t passes');

  const deploy = await take();
  for (const direct of [false, true]) {
    const file = join(ws.dir, `dl-${direct}.zip`);
    const bytes = await c.downloadArtifacts({ id: build.id, token: deploy.token }, file, { directDownload: direct });
    t.equal(bytes, stored[0]!.data.length, `download (direct=${direct}) has every byte`);
    const dest = join(ws.dir, `x-${direct}`);
    await extractZip(file, dest);
    t.equal(readFileSync(join(dest, 'out/report.txt'), 'utf8'), 'all good\n');
    t.ok(readFileSync(join(dest, 'out/sub/data.bin')).equals(Buffer.alloc(200_000, 7)));
    t.equal(statSync(join(dest, 'out/run.sh')).mode & 0o777, 0o755);
  }
  t.ok(s.requests.some((r) => r.path.startsWith('/object-storage/') && r.status === 200), 'the direct download went through object storage');
  const redirected = s.requests.find((r) => r.path.startsWith('/object-storage/'));
  t.equal(redirected?.headers['job-token'], undefined, 'the job token is not sent to object storage');
});

t.test('download errors: unknown token, no archive', async (t) => {
  const { c, take } = await running(t);
  const dir = mkdtempSync(join(tmpdir(), 'fr-art-'));
  const a = await take();
  const b = await take();
  await t.rejects(c.downloadArtifacts({ id: a.id, token: 'glcbt-wrong' }, join(dir, 'x.zip')), { code: 'auth_failed', message: /unauthorized/ });
  await t.rejects(c.downloadArtifacts({ id: a.id, token: b.token }, join(dir, 'y.zip')), { code: 'not_found', details: { status: 404 } });
  t.notOk(existsSync(join(dir, 'y.zip')), 'no partial file is left');
});

t.test('an archive over the size limit gets 413 as a clear error', async (t) => {
  const { c, take } = await running(t, { maxArtifactBytes: 1000 });
  const job = await take();
  await t.rejects(c.uploadArtifacts(job, { body: () => zipStream([{ name: 'big.bin', data: Buffer.alloc(5000, 1), method: 'store' }]) }), {
    code: 'invalid_argument',
    message: /uploading artifacts: too large \(HTTP 413\)/,
    details: { status: 413, tooLarge: true },
  });
});

t.test('a 503 upload is retried with a fresh archive stream', async (t) => {
  const clock = new FakeClock();
  const { s, c, take } = await running(t, {}, clock);
  const job = await take();
  s.failNext({ method: 'POST', path: `/api/v4/jobs/${job.id}/artifacts`, status: 503, body: { message: '503 Service Unavailable' } });
  let streams = 0;
  await c.uploadArtifacts(job, {
    body: () => {
      streams++;
      return zipStream([{ name: 'a.txt', data: 'retried\n' }]);
    },
  });
  t.equal(streams, 2, 'the archive was produced again for the retry');
  t.equal(s.artifactsOf(job.id).length, 1);
  t.ok(s.artifactsOf(job.id)[0]!.data.includes('a.txt'));
});

t.test('a finished job cannot upload', async (t) => {
  const { s, c, take } = await running(t);
  const job = await take();
  await c.updateJob(job, { state: 'success' });
  await t.rejects(c.uploadArtifacts(job, { body: () => zipStream([{ name: 'a', data: 'x' }]) }), { code: 'auth_failed', details: { status: 403 } });
  t.equal(s.artifactsOf(job.id).length, 0);
});
