// `runner exec` runs jobs through the job path `runner run` uses: a job waits for a free slot instead of failing,
// and the runner entry's scripts and timeouts reach the executor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { job, jobLog, runExec, sandbox, writeTree } from './exec-harness.js';

/** The most `start`…`end` intervals of `marks` (lines `start|end <id> <ns>`) open at one time. */
function maxOverlap(marks: string): { max: number; starts: number; ends: number } {
  const events = marks
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, , ns] = line.split(' ');
      return { kind: kind!, at: BigInt(ns!) };
    })
    // At one instant an end comes before a start: that is a hand-over, not an overlap.
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind === 'end' ? -1 : 1));
  let open = 0;
  let max = 0;
  for (const e of events) {
    open += e.kind === 'start' ? 1 : -1;
    max = Math.max(max, open);
  }
  return { max, starts: events.filter((e) => e.kind === 'start').length, ends: events.filter((e) => e.kind === 'end').length };
}

t.test('a pipeline with three times more jobs than slots queues: every job succeeds, never more than the slots at once', async (t) => {
  // 2 slots (capacity 1, max 2 instances), each instance used once, and `concurrent = 4` lets 4 jobs start.
  const box = sandbox(t, { subnet: '127.88.1.0/28', capacityPerInstance: 1, maxInstances: 2, maxUseCount: 1 });
  const project = tmpDir(t, { prefix: 'cli-exec-queue' });
  const marks = join(box.dir, 'marks');
  writeTree(project, {
    '.gitlab-ci.yml': `shard:
  parallel: 6
  script:
    - echo "start $CI_NODE_INDEX $(date +%s%N)" >> "${marks}"
    - sleep 1
    - echo "end $CI_NODE_INDEX $(date +%s%N)" >> "${marks}"
`,
  });
  const run = await runExec(t, box, project, [], 180_000);
  const shards = run.report.jobs;
  t.equal(shards.length, 6, 'six jobs');
  const ok = t.same(
    shards.map((j) => [j.name, j.status, j.message ?? '']),
    shards.map((j) => [j.name, 'success', '']),
    'every job succeeds',
  );
  if (!ok) t.comment(run.stdout.slice(-4000));
  t.equal(run.code, 0, 'the pipeline succeeds');
  t.notMatch(run.stdout, /every slot is in use or reserved/, 'no job failed for want of a slot');
  const o = maxOverlap(readFileSync(marks, 'utf8'));
  t.equal(o.starts, 6, 'six starts recorded');
  t.equal(o.ends, 6, 'six ends recorded');
  t.ok(o.max <= 2, `never more than 2 jobs ran at once (saw ${o.max})`);
  const instances = shards.map((j) => j.instanceId);
  t.equal(new Set(instances).size, 6, `max_use_count = 1: each job on an instance of its own (${instances.join(', ')})`);
});

t.test('runner exec honours the pre/post get_sources and build scripts from the config', async (t) => {
  const box = sandbox(t, {
    subnet: '127.88.1.16/28',
    runnerExtra: [
      `pre_get_sources_script = "echo pre-sources-ran"`,
      `post_get_sources_script = "test -f .gitlab-ci.yml && echo post-sources-in-tree"`,
      `pre_build_script = "echo pre-build-ran-$CI_JOB_NAME"`,
      `post_build_script = "echo post-build-ran"`,
    ].join('\n'),
  });
  const project = tmpDir(t, { prefix: 'cli-exec-scripts' });
  writeTree(project, { '.gitlab-ci.yml': `build:\n  script:\n    - echo user-script-ran\n` });
  const run = await runExec(t, box, project, []);
  t.match(job(run, 'build'), { status: 'success' });
  const log = jobLog(run.stdout, 'build');
  t.match(log, /^pre-sources-ran$[\s\S]*Copying the local working tree[\s\S]*^post-sources-in-tree$/m, 'the get_sources scripts ran around the copy, the post one in the tree');
  t.match(log, /^pre-build-ran-build$[\s\S]*^user-script-ran$[\s\S]*^post-build-ran$/m, 'the build scripts ran around the user script');
});

t.test('runner exec honours get_sources_timeout from the config: the job ends with job_execution_timeout', async (t) => {
  // Copying the working tree takes several round trips over SSH: far more than 1 ms.
  const box = sandbox(t, { subnet: '127.88.1.32/28', runnerExtra: `get_sources_timeout = "1ms"` });
  const project = tmpDir(t, { prefix: 'cli-exec-gst' });
  writeTree(project, { '.gitlab-ci.yml': `build:\n  script:\n    - echo user-script-ran\n` });
  const run = await runExec(t, box, project, []);
  const j = job(run, 'build');
  if (!t.match(j, { status: 'failed', failureReason: 'job_execution_timeout' }, 'the job timed out')) t.comment(run.stdout.slice(-2000));
  t.match(j.stages.find((s) => s.name === 'get_sources'), { outcome: 'timeout' }, 'get_sources timed out');
  t.notOk(j.stages.some((s) => s.name === 'step_script'), 'the script never ran');
  t.notMatch(jobLog(run.stdout, 'build'), /^user-script-ran$/m);
});

t.test('a job that waits for a slot no running job will free gives up after instance_acquire_timeout', async (t) => {
  // Preemptive mode with no idle instance: nothing creates one, so the wait must end (it would never be served).
  const box = sandbox(t, { subnet: '127.88.1.48/28', autoscalerExtra: 'instance_acquire_timeout = "2s"', policyExtra: 'preemptive_mode = true' });
  const project = tmpDir(t, { prefix: 'cli-exec-stuck' });
  writeTree(project, { '.gitlab-ci.yml': `build:\n  script:\n    - echo never\n` });
  const run = await runExec(t, box, project, [], 60_000);
  t.equal(run.code, 1, 'the pipeline fails');
  t.match(job(run, 'build'), { status: 'failed', failureReason: 'runner_system_failure', message: /preemptive mode/ });
});

t.test('runner exec fails a job this runner cannot run before taking an instance (shell pwsh), as runner run does', async (t) => {
  const box = sandbox(t, { subnet: '127.88.1.64/28', shell: 'pwsh' });
  const project = tmpDir(t, { prefix: 'cli-exec-pwsh' });
  writeTree(project, { '.gitlab-ci.yml': `build:\n  script:\n    - echo never\n` });
  const run = await runExec(t, box, project, []);
  const j = job(run, 'build');
  t.match(j, { status: 'failed', failureReason: 'runner_configuration_error', message: /shell pwsh is not supported/ });
  t.notOk(j.instanceId, 'no instance was prepared');
  t.notMatch(jobLog(run.stdout, 'build'), /Preparing instance/);
});
