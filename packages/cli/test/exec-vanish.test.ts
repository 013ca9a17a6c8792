// An instance that vanishes mid-job (every one of its processes killed, as when a VM disappears): the job fails
// with a system failure, and the manager goes on to run the next job on another instance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { descendants, killAll, localInstancePid, tmpDir, waitFor } from '@fleetrunner/testing';
import { job, jobLog, runExec, sandbox, writeTree } from './exec-harness.js';

/**
 * Every process of the instance stops, then dies: as when a VM vanishes, no part of it sees another part die first
 * (a job shell that saw its `sleep` killed would report exit 137 before the connection drops).
 */
function vanish(root: number): void {
  const pids = [root, ...descendants(root)];
  for (const sig of ['SIGSTOP', 'SIGKILL'] as const) killAll(pids, sig);
}

t.test('an instance that vanishes mid-job: runner_system_failure, and the next job runs elsewhere', async (t) => {
  const box = sandbox(t, { subnet: '127.101.5.0/28', capacityPerInstance: 1, maxInstances: 2, shell: 'sh' });
  const project = tmpDir(t, { prefix: 'cli-exec-vanish' });
  const marker = join(box.dir, 'doomed-instance');
  writeTree(project, {
    '.gitlab-ci.yml': `stages: [work, report]
doomed:
  stage: work
  script:
    - echo "$FLEETRUNNER_LOCAL_INSTANCE" > "${marker}.tmp" && mv "${marker}.tmp" "${marker}"
    - sleep 300
survivor:
  stage: report
  when: always
  script:
    - echo "the manager goes on"
`,
  });
  const run = await runExec(t, box, project, [], 60_000, async () => {
    await waitFor(() => readFileSync(marker, 'utf8').trim(), { what: 'the doomed job to start', timeoutMs: 30_000 });
    vanish(localInstancePid(readFileSync(marker, 'utf8').trim()));
  });
  t.equal(run.code, 1, 'the pipeline fails');
  const doomed = job(run, 'doomed');
  t.match(doomed, { status: 'failed', failureReason: 'runner_system_failure' });
  t.match(jobLog(run.stdout, 'doomed'), /ERROR: Job failed \(system failure\): connection to instance local-\d+ \([\d.:]+\) lost/, 'the log says why');
  const survivor = job(run, 'survivor');
  t.match(survivor, { status: 'success' }, jobLog(run.stdout, 'survivor'));
  t.not(survivor.instanceId, doomed.instanceId, 'on another instance');
  t.match(jobLog(run.stdout, 'survivor'), /^the manager goes on$/m);
});
