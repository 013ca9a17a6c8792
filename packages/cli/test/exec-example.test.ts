// The example pipeline through the real `runner exec`, twice: the first run fills the cache, the second hits it;
// artifacts with exclude rules reach the later stages.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { ROOT, job, jobLog, runExec, sandbox } from './exec-harness.js';

t.test('examples/pipeline twice: cache miss, then cache hit', async (t) => {
  const box = sandbox(t, { subnet: '127.101.2.0/28' });
  const project = tmpDir(t, { prefix: 'cli-exec-example' });
  cpSync(join(ROOT, 'examples', 'pipeline'), project, { recursive: true });
  const args = ['--file', join(project, '.gitlab-ci.yml')];

  const first = await runExec(t, box, project, args);
  t.equal(first.code, 0, first.stdout + first.stderr);
  t.equal(first.report.status, 'success');
  t.same(first.report.jobs.map((j) => j.name), ['build', 'test 1/4', 'test 2/4', 'test 3/4', 'test 4/4', 'package']);
  t.ok(first.report.jobs.every((j) => j.status === 'success'), 'every job passes (the test shards check that dist/build.log was excluded)');
  t.match(jobLog(first.stdout, 'build'), /^cache miss, resolving dependencies$/m);
  t.ok(job(first, 'build').stages.some((s) => s.name === 'archive_cache' && s.outcome === 'success'));
  t.match(jobLog(first.stdout, 'package'), /^package finished with status success$/m);

  const second = await runExec(t, box, project, args);
  t.equal(second.code, 0, second.stdout + second.stderr);
  const build = jobLog(second.stdout, 'build');
  t.match(build, /^cache hit, deps resolved at \d{4}-\d\d-\d\dT/m, 'the second run restores the cache of the first');
  t.notMatch(build, 'cache miss');
});
