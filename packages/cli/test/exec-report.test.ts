// `runner exec` end to end: a failing job fails the pipeline (exit 1) and the --report file says what ran where;
// sources come from a real git work tree (tracked and untracked files, not ignored ones).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { job, jobLog, runExec, sandbox, writeTree } from './exec-harness.js';

const PIPELINE = `stages: [build, test]
variables:
  GREETING: "hello from the pipeline"
compile:
  stage: build
  script:
    - echo "$GREETING"
    - ls -a | sort | tr '\\n' ' '; echo
    - echo "sha=$CI_COMMIT_SHA"
flaky:
  stage: test
  script:
    - echo "about to fail"
    - exit 3
    - echo "never printed"
  after_script:
    - echo "after_script saw $CI_JOB_STATUS"
lint:
  stage: test
  script:
    - test -f tracked.txt
`;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

t.test('a failing job: exit code 1, and a report of every job', async (t) => {
  const box = sandbox(t, { subnet: '127.101.1.0/28' });
  const project = tmpDir(t, { prefix: 'cli-exec-project' });
  writeTree(project, { '.gitlab-ci.yml': PIPELINE, 'tracked.txt': 'in git\n', 'untracked.txt': 'new\n', '.gitignore': 'ignored.txt\n', 'ignored.txt': 'secret\n' });
  const git = (...args: string[]): string => execFileSync('git', ['-C', project, ...args], { encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '.gitlab-ci.yml', 'tracked.txt', '.gitignore');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'first');
  const sha = git('rev-parse', 'HEAD');

  const run = await runExec(t, box, project, []);
  t.equal(run.code, 1, 'runner exec exits 1 when the pipeline fails');
  t.equal(run.report.status, 'failed');
  t.match(run.stdout, /pipeline failed\s*$/);
  t.same(run.report.jobs.map((j) => [j.name, j.status]), [['compile', 'success'], ['flaky', 'failed'], ['lint', 'success']], 'every job in pipeline order');

  const flaky = job(run, 'flaky');
  t.match(flaky, { stage: 'test', status: 'failed', exitCode: 3, failureReason: 'script_failure' });
  const flakyLog = jobLog(run.stdout, 'flaky');
  t.match(flakyLog, /^about to fail$/m);
  t.notMatch(flakyLog, /^never printed$/m);
  t.match(flakyLog, /^after_script saw failed$/m);
  t.same(flaky.stages.find((s) => s.name === 'step_script'), { name: 'step_script', durationMs: flaky.stages.find((s) => s.name === 'step_script')?.durationMs, outcome: 'failed', exitCode: 3 });

  for (const j of run.report.jobs) {
    t.match(j.instanceId, /^local-\d+$/, `${j.name}: instance id`);
    t.ok(Number.isInteger(j.slot) && j.slot! >= 0 && j.slot! < 2, `${j.name}: slot ${j.slot} within capacity_per_instance`);
    t.match(j.startedAt, ISO, `${j.name}: start timestamp`);
    t.match(j.finishedAt, ISO, `${j.name}: end timestamp`);
    t.ok(Date.parse(j.finishedAt!) >= Date.parse(j.startedAt!), `${j.name}: ends after it starts`);
    t.ok(j.stages.length >= 3 && j.stages.every((s) => Number.isInteger(s.durationMs) && s.durationMs >= 0), `${j.name}: stage durations`);
    t.same(j.stages.slice(0, 2).map((s) => s.name), ['prepare_script', 'get_sources']);
  }
  const compile = job(run, 'compile');
  t.ok(Date.parse(compile.finishedAt!) <= Date.parse(flaky.startedAt!), 'the test stage starts after the build stage ends');

  const compileLog = jobLog(run.stdout, 'compile');
  t.match(compileLog, /^hello from the pipeline$/m);
  t.match(compileLog, /\.gitignore \.gitlab-ci\.yml tracked\.txt untracked\.txt/, 'tracked and untracked files are shipped');
  t.notMatch(compileLog, 'ignored.txt', 'ignored files are not');
  t.match(compileLog, `sha=${sha}`, 'predefined variables come from the real repository');
  t.same(readdirSync(join(box.dir, 'tmp')), [], 'the run leaves nothing in TMPDIR');
});
