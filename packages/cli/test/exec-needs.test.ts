// `runner exec JOB`: the named job runs with the jobs it needs (and their artifacts), nothing else.
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { job, jobLog, runExec, sandbox, writeTree } from './exec-harness.js';

const PIPELINE = `stages: [prepare, build, deploy]
fetch:
  stage: prepare
  script:
    - mkdir -p out && echo "fetched by $CI_JOB_NAME" > out/data.txt
  artifacts:
    paths: [out/]
unrelated:
  stage: prepare
  script: [echo "unrelated ran"]
compile:
  stage: build
  script: [echo "compile ran"]
ship:
  stage: deploy
  needs: [fetch]
  script:
    - cat out/data.txt
`;

t.test('a job named on the command line runs with its needs', async (t) => {
  const box = sandbox(t, { subnet: '127.101.3.0/28', shell: 'sh' });
  const project = tmpDir(t, { prefix: 'cli-exec-needs' });
  writeTree(project, { '.gitlab-ci.yml': PIPELINE });
  const run = await runExec(t, box, project, ['ship']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  const ran = run.report.jobs.filter((j) => j.instanceId !== undefined).map((j) => j.name);
  t.same(ran, ['fetch', 'ship'], 'only the named job and what it needs ran');
  t.notMatch(run.stdout, /unrelated ran|compile ran/);
  t.match(jobLog(run.stdout, 'ship'), /^fetched by fetch$/m, "the need's artifact is there");
  t.ok(Date.parse(job(run, 'fetch').finishedAt!) <= Date.parse(job(run, 'ship').startedAt!), 'the need finished first');
});
