// `runner run` against faulty artifact and cache archives (the real binary, the GitLab stand-in, the local plugin):
// a bad archive fails its job with a clear reason and the manager and every other job go on; dependency archives
// never land outside the build directory; expansion is capped; gzip artifacts arrive whole; caches are per project
// and private.
import t, { type Test } from 'tap';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { constants as zc, crc32, deflateRawSync, gunzipSync } from 'node:zlib';
import { tmpDir } from '@fleetrunner/testing';
import { dependencyOn, startGitLabStandin, type GitLabStandin, type GitLabStandinOptions, type JobSpec, type StandinJob } from '../src/index.js';
import { guardCatches, startManager, writeRunConfig, type ManagerProcess } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

/** One member for {@link rawZip}: the bytes as stored and the header fields, any of which may lie. */
interface RawMember {
  name: string;
  /** Stored bytes (already deflated for method 8). */
  data: Buffer;
  method?: number;
  crc?: number;
  /** Uncompressed size recorded in the central directory. */
  size?: number;
  /** Unix mode with type bits. */
  mode?: number;
}

/** A zip written field by field (no data descriptors), so a test can make any field say what it likes. */
function rawZip(members: RawMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const method = m.method ?? 0;
    const size = m.size ?? m.data.length;
    const crc = m.crc ?? (crc32(m.data) >>> 0);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6);
    h.writeUInt16LE(method, 8);
    h.writeUInt32LE(0x00210000, 10); // 1980-01-01
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(m.data.length, 18);
    h.writeUInt32LE(Math.min(size, 0xfffffffe), 22);
    h.writeUInt16LE(name.length, 26);
    locals.push(h, name, m.data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE((3 << 8) | 20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(0x00210000, 12);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(m.data.length, 20);
    c.writeUInt32LE(Math.min(size, 0xfffffffe), 24);
    c.writeUInt16LE(name.length, 28);
    const mode = m.mode ?? (m.name.endsWith('/') ? 0o040755 : 0o100644);
    c.writeUInt32LE(((mode << 16) | (m.name.endsWith('/') ? 0x10 : 0)) >>> 0, 38);
    c.writeUInt32LE(offset, 42);
    centrals.push(c, name);
    offset += 30 + name.length + m.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const file = (name: string, text: string): RawMember => ({ name, data: Buffer.from(text) });
const folder = (name: string): RawMember => ({ name: name.endsWith('/') ? name : `${name}/`, data: Buffer.alloc(0) });
const link = (name: string, target: string): RawMember => ({ name, data: Buffer.from(target), mode: 0o120777 });
const deflated = (name: string, plain: Buffer): RawMember => ({ name, data: deflateRawSync(plain), method: 8, crc: crc32(plain) >>> 0, size: plain.length });

/** `mib` MiB of zeros as one DEFLATE stream, built from a repeated fully flushed block (no need to deflate it all). */
function zeros(name: string, mib: number): RawMember {
  const block = Buffer.alloc(1 << 20);
  const piece = deflateRawSync(block, { finishFlush: zc.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(block, crc);
  return { name, data: Buffer.concat([...Array.from({ length: mib }, () => piece), deflateRawSync(Buffer.alloc(0))]), method: 8, crc: crc >>> 0, size: mib << 20 };
}

interface Setup {
  s: GitLabStandin;
  m: ManagerProcess;
  dir: string;
}

async function setup(t: Test, subnet: string, prefix: string, options: GitLabStandinOptions = {}): Promise<Setup> {
  const dir = tmpDir(t, { prefix });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000, ...options });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet, concurrent: 4, capacity: 4, maxInstances: 1 }));
  return { s, m, dir };
}

/** A job planted as finished, holding `zip` as its archive artifact. */
function plant(s: GitLabStandin, name: string, zip: Buffer): StandinJob {
  return s.plantJob({ name, stage: 'build' }, [{ type: 'archive', format: 'zip', filename: `${name}.zip`, data: zip }]);
}

/**
 * Queues a job that depends on `deps`. Its payload is built when a request takes it, which cannot happen before this
 * returns (the stand-in answers requests on later turns), so the dependencies are always in it.
 */
function enqueueWithDeps(s: GitLabStandin, spec: JobSpec, deps: StandinJob[]): StandinJob {
  const job = s.enqueueJob({ ...spec, variables: [...NO_GIT, ...(spec.variables ?? [])] });
  job.rawOverride = { dependencies: deps.map((d) => dependencyOn(d, job.token)) };
  return job;
}

/** Waits for `job` to end; fails at once, with its last words, when the manager dies first. */
async function finished(s: GitLabStandin, m: ManagerProcess, job: StandinJob): Promise<{ status: string; reason: string | undefined; trace: string }> {
  const stop = new AbortController();
  const died = m.exited.then(({ code, signal }) => {
    if (stop.signal.aborted) return;
    throw new Error(`the manager exited (code ${code}, signal ${signal}) before job ${job.id} ended: ${m.other.slice(-8).join('\n')} ${JSON.stringify(m.log.slice(-3))}`);
  });
  try {
    await Promise.race([s.waitForJobState(job.id, ['success', 'failed', 'canceled'], { signal: stop.signal }), died]);
  } finally {
    stop.abort();
  }
  return { status: s.jobs.get(job.id)!.status, reason: s.finalStateOf(job.id)?.failureReason, trace: s.traceOf(job.id) };
}

function alive(m: ManagerProcess): boolean {
  return m.child.exitCode === null && m.child.signalCode === null;
}

/** Every path under `root` whose base name starts with `marker`. */
function findMarked(root: string, marker: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name.startsWith(marker)) out.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

const BAD_ZIPS: { name: string; zip: () => Buffer; trace: RegExp }[] = [
  { name: 'not a zip at all', zip: () => Buffer.from('this is not a zip archive\n'.repeat(20)), trace: /no end of central directory record/ },
  { name: 'an empty file', zip: () => Buffer.alloc(0), trace: /no end of central directory record|unexpected end of file/ },
  { name: 'a zip cut short', zip: () => rawZip([file('a.txt', 'x'.repeat(5000)), file('b.txt', 'y'.repeat(5000))]).subarray(0, 6000), trace: /no end of central directory record/ },
  {
    name: 'a corrupt deflate stream',
    zip: () => {
      const m = deflated('a.txt', Buffer.from('hello '.repeat(2000)));
      m.data = Buffer.from(m.data.map((b, i) => (i > 2 ? b ^ 0x5a : b)));
      return rawZip([m]);
    },
    trace: /reading zip: a\.txt: (invalid|incorrect|too many|unexpected)|a\.txt: (size \d+, expected|CRC-32 mismatch|more data)/,
  },
  { name: 'a CRC mismatch', zip: () => rawZip([{ ...file('a.txt', 'hello hello hello'), crc: 0x12345678 }]), trace: /a\.txt: CRC-32 mismatch/ },
  { name: 'an unknown compression method', zip: () => rawZip([{ ...file('a.txt', 'hello'), method: 99 }]), trace: /a\.txt: unsupported compression method 99/ },
  { name: 'a member that streams more than it declares', zip: () => rawZip([{ ...zeros('bomb.bin', 64), size: 1024 }]), trace: /bomb\.bin: more data than its recorded size of 1024 bytes/ },
  { name: 'a member that streams less than it declares', zip: () => rawZip([{ ...deflated('a.txt', Buffer.from('short')), size: 50 }]), trace: /a\.txt: size 5, expected 50/ },
];

if (process.getuid?.() !== 0) {
  t.test('runner run archive faults', { skip: 'needs root (the instance user extracts as root; paths outside the build dir are checked)' }, async () => {});
} else {
  t.test('a dependency archive that is not a sound zip fails its job (runner_system_failure); the manager and the next job go on', async (t) => {
    const { s, m } = await setup(t, '127.82.1.0/24', 'run-bad-zip');
    const jobs = BAD_ZIPS.map((c) => ({ c, job: enqueueWithDeps(s, { name: `consume ${c.name}`, script: ['echo "the script ran"'] }, [plant(s, 'producer', c.zip())]) }));
    for (const { c, job } of jobs) {
      const r = await finished(s, m, job);
      t.equal(r.status, 'failed', `${c.name}: the job failed`);
      t.equal(r.reason, 'runner_system_failure', `${c.name}: as a system failure`);
      if (!t.match(r.trace, c.trace, `${c.name}: the trace says why`)) t.comment(r.trace);
      t.match(r.trace, /ERROR: download_artifacts: extracting artifacts of producer \(\d+\)/, `${c.name}: the trace names the dependency`);
      t.notMatch(r.trace, /the script ran/, `${c.name}: the script did not run`);
      t.ok(alive(m), `${c.name}: the manager is still running`);
    }
    t.ok(m.log.some((e) => e.msg === 'extracting artifacts failed' && typeof e.error === 'string'), 'the manager log says why');
    t.same(guardCatches(m), [], 'no stream error reached the process-level guard');
    const next = s.enqueueJob({ name: 'next', script: ['echo next-ran'], variables: NO_GIT });
    const r = await finished(s, m, next);
    t.equal(r.status, 'success', 'the next job succeeds');
    t.ok(alive(m));
  });

  t.test('dependency archives never land outside the build directory: unsafe names and links are refused, planted links are not followed', async (t) => {
    const { s, m, dir } = await setup(t, '127.82.2.0/24', 'run-zip-escape');
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const instances = join(dir, 'plugin', 'instances');
    const cases: { name: string; deps: Buffer[]; fails?: RegExp }[] = [
      { name: 'a ".." name', deps: [rawZip([file('../PWNED-dotdot', 'x')])], fails: /unsafe entry name "\.\.\/PWNED-dotdot"/ },
      { name: 'a ".." in the middle', deps: [rawZip([file('a/../../PWNED-mid', 'x')])], fails: /unsafe entry name "a\/\.\.\/\.\.\/PWNED-mid"/ },
      { name: 'an absolute name', deps: [rawZip([file(`${outside}/PWNED-abs`, 'x')])], fails: /unsafe entry name/ },
      { name: 'an absolute symlink, written through by the next dependency', deps: [rawZip([link('door', outside)]), rawZip([file('door/PWNED-abslink', 'x')])], fails: /symlink "door" points to the absolute path/ },
      { name: 'a symlink out of the build dir', deps: [rawZip([link('up', '../../..')]), rawZip([file('up/PWNED-uplink', 'x')])], fails: /symlink "up" points outside the destination/ },
      { name: 'a member below a symlink of the same archive', deps: [rawZip([link('l', 'sub'), file('l/PWNED-same', 'x')])], fails: /entry "l\/PWNED-same" lies below the symlink "l"/ },
      {
        // Each link stays inside when read where it is written; only following the first one would make the second
        // point out of the build dir, and the third dependency write there.
        name: 'links planted by earlier dependencies',
        deps: [rawZip([folder('a'), folder('a/b'), link('a/b/up', '..')]), rawZip([link('a/b/up/up2', '../..')]), rawZip([file('a/up2/PWNED-chain', 'x')])],
      },
    ];
    const jobs = cases.map((c) => ({
      c,
      job: enqueueWithDeps(
        s,
        { name: `consume ${c.name}`, script: ['echo "the script ran"; find . -name "PWNED*" | sort'] },
        c.deps.map((zip, i) => plant(s, `dep${i}`, zip)),
      ),
    }));
    for (const { c, job } of jobs) {
      const r = await finished(s, m, job);
      if (c.fails) {
        t.equal(r.status, 'failed', `${c.name}: the job failed`);
        t.equal(r.reason, 'runner_system_failure', `${c.name}: as a system failure`);
        if (!t.match(r.trace, c.fails, `${c.name}: the trace names the entry`)) t.comment(r.trace);
      } else if (!t.equal(r.status, 'success', `${c.name}: extracted`)) t.comment(r.trace);
    }
    const landed = [...findMarked(instances, 'PWNED'), ...findMarked(outside, 'PWNED')];
    const stray = landed.filter((p) => !/[/]builds[/][^/]+[/]\d+[/]group[/]project[/]/.test(p));
    t.same(stray, [], 'nothing landed outside a build directory');
    t.ok(
      landed.some((p) => p.endsWith(`${sep}a${sep}up2${sep}PWNED-chain`)),
      'the chained member landed inside the build dir, where its name says',
    );
    t.ok(alive(m), 'the manager is still running');
  });

  t.test('an archive that expands past the cap is refused before anything is written', async (t) => {
    const { s, m, dir } = await setup(t, '127.82.3.0/24', 'run-zip-bomb');
    // A sound zip of 1.5 GiB of zeros in about 1.6 MB.
    const bomb = rawZip([zeros('zeros-1.bin', 768), zeros('zeros-2.bin', 768)]);
    t.ok(bomb.length < 2 * 1024 * 1024, `the bomb is small (${bomb.length} bytes)`);
    const job = enqueueWithDeps(s, { name: 'consume bomb', script: ['echo "the script ran"'] }, [plant(s, 'bomb', bomb)]);
    const r = await finished(s, m, job);
    t.equal(r.status, 'failed');
    t.equal(r.reason, 'runner_system_failure');
    t.match(r.trace, /expands to 1610612736 bytes, over the limit of 1073741824 bytes/, 'the trace gives the sizes');
    t.same(findMarked(join(dir, 'plugin', 'instances'), 'zeros-'), [], 'no member was written');
    t.ok(alive(m), 'the manager is still running');
  });

  t.test('gzip and raw artifacts reach GitLab whole', async (t) => {
    const { s, m } = await setup(t, '127.82.4.0/24', 'run-gzip');
    const job = s.enqueueJob({
      name: 'reports',
      variables: NO_GIT,
      script: ['mkdir -p out && echo "<testsuite name=\\"unit\\"/>" > out/junit.xml', 'seq 1 200000 > out/big.txt', 'echo "BUILD_VERSION=1.2.3" > build.env', 'seq 1 5000 > raw.txt'],
      artifacts: [
        { name: 'junit', paths: ['out/junit.xml'], exclude: [], when: 'on_success', artifact_type: 'junit', artifact_format: 'gzip', untracked: false, expire_in: '' },
        { name: 'dotenv', paths: ['build.env'], exclude: [], when: 'on_success', artifact_type: 'dotenv', artifact_format: 'gzip', untracked: false, expire_in: '' },
        { name: 'big', paths: ['out/big.txt'], exclude: [], when: 'on_success', artifact_type: 'metrics', artifact_format: 'gzip', untracked: false, expire_in: '' },
        { name: 'raw', paths: ['raw.txt'], exclude: [], when: 'on_success', artifact_type: 'cyclonedx', artifact_format: 'raw', untracked: false, expire_in: '' },
      ],
    });
    const r = await finished(s, m, job);
    if (!t.equal(r.status, 'success')) t.comment(r.trace);
    const seq = (n: number): string => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
    const got = new Map(s.artifactsOf(job.id).map((a) => [a.type, a]));
    t.equal(gunzipSync(got.get('junit')!.data).toString(), '<testsuite name="unit"/>\n', 'junit report');
    t.equal(gunzipSync(got.get('dotenv')!.data).toString(), 'BUILD_VERSION=1.2.3\n', 'dotenv report');
    t.equal(gunzipSync(got.get('metrics')!.data).toString(), seq(200000), 'a gzip artifact of many chunks');
    t.equal(got.get('cyclonedx')!.data.toString(), seq(5000), 'a raw artifact');
    t.equal(got.get('junit')!.format, 'gzip');
    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null }, 'the manager stops cleanly');
  });

  t.test('an artifacts upload GitLab refuses fails its job; the manager and the next upload go on', async (t) => {
    const { s, m } = await setup(t, '127.82.6.0/24', 'run-upload-fault', { maxArtifactBytes: 64 * 1024 });
    const spec = (path: string): JobSpec['artifacts'] => [{ name: 'out', paths: [`${path}/`], exclude: [], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip', untracked: false, expire_in: '' }];
    const big = s.enqueueJob({ name: 'too big', variables: NO_GIT, script: ['mkdir -p big && head -c 3000000 /dev/urandom > big/noise.bin'], artifacts: spec('big') });
    const r = await finished(s, m, big);
    t.equal(r.status, 'failed', 'a 413 fails the job');
    t.match(r.trace, /too large \(HTTP 413\)/, 'the trace says why');
    t.same(s.artifactsOf(big.id), []);
    t.ok(m.log.some((e) => e.msg === 'uploading artifacts failed'), 'so does the manager log');
    t.ok(alive(m), 'the manager is still running');
    const next = s.enqueueJob({ name: 'next', variables: NO_GIT, script: ['mkdir -p small && echo small > small/a.txt'], artifacts: spec('small') });
    const rn = await finished(s, m, next);
    t.equal(rn.status, 'success', 'the next job uploads');
    t.equal(s.artifactsOf(next.id).length, 1);
  });

  t.test('caches are per project and private; an unreadable cache archive is a warning', async (t) => {
    const { s, m, dir } = await setup(t, '127.82.5.0/24', 'run-cache');
    const cache = (policy: string): JobSpec['cache'] => [{ key: 'shared', paths: ['cached/'], policy, when: 'on_success', untracked: false, fallback_keys: [] }];
    const a = s.enqueueJob({ name: 'fill', variables: NO_GIT, script: ['mkdir -p cached && echo "secret of project A" > cached/who'], cache: cache('pull-push') });
    const ra = await finished(s, m, a);
    if (!t.equal(ra.status, 'success', 'project A filled its cache')) t.comment(ra.trace);
    t.match(ra.trace, /Created cache/);

    const b = s.enqueueJob({
      name: 'other project',
      repo: 'other/project',
      variables: NO_GIT,
      job_info: { name: 'other project', stage: 'test', project_id: 43, project_name: 'project', project_full_path: 'other/project' } as JobSpec['job_info'],
      script: ['cat cached/who 2>/dev/null || echo "no cache here"'],
      cache: cache('pull'),
    });
    const rb = await finished(s, m, b);
    t.equal(rb.status, 'success');
    t.notMatch(rb.trace, /secret of project A/, 'project B does not restore project A\'s cache under the same key');
    t.match(rb.trace, /no cache here/);
    t.match(rb.trace, /WARNING: Cache file for shared does not exist/);

    const again = s.enqueueJob({ name: 'same project', variables: NO_GIT, script: ['cat cached/who'], cache: cache('pull') });
    const rc = await finished(s, m, again);
    t.match(rc.trace, /Successfully extracted cache/, 'project A restores its own cache');
    t.match(rc.trace, /secret of project A/);

    const root = join(dir, '.runner_cache');
    const archives: string[] = [];
    const walk = (d: string): void => {
      t.equal((statSync(d).mode & 0o777).toString(8), '700', `${relative(dir, d)} is 0700`);
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else {
          archives.push(p);
          t.equal((lstatSync(p).mode & 0o777).toString(8), '600', `${relative(dir, p)} is 0600`);
        }
      }
    };
    walk(root);
    t.equal(archives.length, 1, 'one cache archive');
    t.match(relative(root, archives[0]!), /^[^/]+\/project\/42\/[^/]+$/, 'kept under <short token>/project/<project id>/');

    // The archive replaced by a directory: restoring warns, the job goes on (upstream), the manager lives.
    rmSync(archives[0]!);
    mkdirSync(join(archives[0]!, 'in-the-way'), { recursive: true });
    const broken = s.enqueueJob({ name: 'broken cache', variables: NO_GIT, script: ['echo "script ran"'], cache: cache('pull') });
    const rd = await finished(s, m, broken);
    t.equal(rd.status, 'success', 'the job goes on without its cache');
    t.match(rd.trace, /WARNING: Failed to extract cache shared: .*not a regular file/);
    t.match(rd.trace, /script ran/);
    // Garbage where the tar should be: the same.
    rmSync(archives[0]!, { recursive: true });
    writeFileSync(archives[0]!, Buffer.alloc(4096, 0x41));
    const garbage = s.enqueueJob({ name: 'garbage cache', variables: NO_GIT, script: ['echo "script ran"'], cache: cache('pull') });
    const re = await finished(s, m, garbage);
    t.equal(re.status, 'success');
    t.match(re.trace, /WARNING: Failed to extract cache shared: .*(checksum|not a tar)/);
    t.ok(alive(m), 'the manager is still running');
    t.same(guardCatches(m), [], 'no cache stream error reached the process-level guard');
  });
}
