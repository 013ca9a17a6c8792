// The process-level guard of `runner run`, in a child process of its own (it installs process-wide handlers): an
// 'error' event nobody listens to and a rejection nobody handles, raised from inside a job's async context, fail
// that job only; one raised outside every job is logged; the process lives on.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const guardModule = fileURLToPath(new URL('../src/job-guard.js', import.meta.url));

const script = `
import { Readable } from 'node:stream';
import { JobGuard } from ${JSON.stringify(guardModule)};
const lines = [];
const logger = { error: (msg, f) => lines.push({ msg, job: f.job, error: f.error }) };
logger.child = () => logger;
const guard = new JobGuard(logger);
guard.install();
const failed = {};
const job = (id, fn) => guard.run(id, async (scope) => {
  scope.failSignal.addEventListener('abort', () => (failed[id] = scope.failSignal.reason.message));
  await new Promise((resolve) => setTimeout(resolve, 5));
  fn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return scope.failSignal.aborted;
});
const results = await Promise.all([
  job(1, () => { const r = new Readable({ read() { this.destroy(new Error('reading zip: invalid code lengths set')); } }); r.resume(); }),
  job(2, () => { void Promise.reject(new Error('CRC-32 mismatch')); }),
  job(3, () => {}),
]);
setTimeout(() => { throw new Error('outside any job'); }, 1);
await new Promise((resolve) => setTimeout(resolve, 30));
guard.uninstall();
console.log(JSON.stringify({ results, failed, lines, caught: guard.caught }));
`;

t.test('an error escaping from a job fails that job only; the process goes on', async (t) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, `the process lives: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
    results: boolean[];
    failed: Record<string, string>;
    lines: { msg: string; job?: number; error: string }[];
    caught: number;
  };
  t.same(out.results, [true, true, false], 'jobs 1 and 2 were failed, job 3 was not');
  t.match(out.failed['1'], /unexpected error: reading zip: invalid code lengths set/);
  t.match(out.failed['2'], /unexpected error: CRC-32 mismatch/);
  t.equal(out.caught, 3);
  t.same(
    out.lines.map((l) => [l.msg, l.job ?? null]).sort(),
    [
      ['uncaught exception in a job: failing the job', 1],
      ['uncaught exception outside any job: the manager goes on', null],
      ['unhandled rejection in a job: failing the job', 2],
    ],
    'each is logged, charged to the job it came from',
  );
});
