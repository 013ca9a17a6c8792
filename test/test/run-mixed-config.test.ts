import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

// A host switching from gitlab-runner keeps its docker and shell runners in the same config.toml: they are skipped
// with one warning each, the instance runners run.
t.test('a config.toml with docker and shell runners beside the instance one runs the instance jobs and skips the others', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-mixed' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const instance = s.registerRunner();
  const docker = s.registerRunner();
  const shell = s.registerRunner();
  const other = (name: string, executor: string, token: string, extra: string): string =>
    `[[runners]]\nname = "${name}"\nurl = "${s.url}"\ntoken = "${token}"\nexecutor = "${executor}"\nbuilds_dir = "/builds"\n${extra}\n`;
  const file = writeRunConfig({
    dir,
    url: s.url,
    token: instance.token,
    subnet: '127.81.40.0/24',
    moreRunners:
      other('docker-one', 'docker', docker.token, '[runners.docker]\nimage = "alpine:3"\nprivileged = true\n[runners.cache]\nType = "s3"') +
      other('shell-one', 'shell', shell.token, '[runners.custom_build_dir]\nenabled = true'),
  });
  // Jobs only the skipped runners could take: they must stay pending.
  const forDocker = s.enqueueJob({ runnerToken: docker.token, variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo docker'] });
  const forShell = s.enqueueJob({ runnerToken: shell.token, variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo shell'] });
  const m = startManager(t, file);
  const job = s.enqueueJob({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo from-the-instance'] });
  await s.waitForJobState(job.id, ['success', 'failed']);
  t.equal(s.jobs.get(job.id)?.status, 'success', s.traceOf(job.id));
  t.match(s.traceOf(job.id), /from-the-instance/);

  const warnings = (i: number): string[] =>
    m.log.filter((e) => e.msg === 'config' && typeof e.diagnostic === 'string' && e.diagnostic.includes(`runners[${i}]`)).map((e) => String(e.diagnostic));
  t.equal(warnings(1).length, 1, `one warning for the docker runner: ${warnings(1).join(' | ')}`);
  t.match(warnings(1)[0], /runners\[1\]\.executor: the docker executor is not run here; this runner is skipped/);
  t.equal(warnings(2).length, 1, `one warning for the shell runner: ${warnings(2).join(' | ')}`);
  t.match(warnings(2)[0], /runners\[2\]\.executor: the shell executor is not run here/);
  t.same(warnings(0), [], 'the instance runner has none');

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  t.equal(s.jobs.get(forDocker.id)?.status, 'pending', 'no request was made with the docker runner token');
  t.equal(s.jobs.get(forShell.id)?.status, 'pending', 'nor with the shell runner token');
  t.notMatch(m.log.map((e) => JSON.stringify(e)).join('\n'), docker.token, 'the skipped tokens never reach the log');
  await noInstancesLeft(dir);
});
