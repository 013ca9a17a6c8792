import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listZip } from '@fleetrunner/gitlab';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, makeRepo, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

// One implementation per primitive, seen through the real binary: the feature-flag table `runner config validate`
// warns from is the one the executor honours, and artifact paths are doublestar globs with braces.

const exec = promisify(execFile);

async function validate(config: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RUNNER_BIN, 'config', 'validate', '--config', config]);
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

if (process.getuid?.() !== 0) {
  t.test('one feature-flag table and brace globs through runner run', { skip: 'needs root (the local plugin runs OpenSSH sshd)' }, async () => {});
} else {
  t.test('FF_USE_NEW_BASH_EVAL_STRATEGY = false is known to config validate and honoured by the job; out/{a,b}/x.txt artifacts are collected', async (t) => {
    const dir = tmpDir(t, { prefix: 'run-one-primitive' });
    const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
    t.teardown(() => s.close());
    s.addGitRepo('group/primitives', makeRepo(join(dir, 'repo')));
    const { token } = s.registerRunner();
    const config = writeRunConfig({
      dir,
      url: s.url,
      token,
      subnet: '127.87.1.0/24',
      mode: 'sshd',
      runnerExtra: 'shell = "bash"\n[runners.feature_flags]\nFF_USE_NEW_BASH_EVAL_STRATEGY = false',
    });

    const v = await validate(config);
    t.equal(v.code, 0, v.out);
    t.notMatch(v.out, /unknown feature flag/, 'config validate knows the flag');

    const m = startManager(t, config);
    // Under bash 4.0–5.3 the legacy `: | eval` form loses a failing command's exit code (the job exits 1); the
    // subshell form, the default, keeps it (exit 3).
    const flag = s.enqueueJob({ name: 'flag', stage: 'test', repo: 'group/primitives', script: ['echo "flag is $FF_USE_NEW_BASH_EVAL_STRATEGY"', "sh -c 'exit 3'"] });
    await s.waitForJobState(flag.id, ['success', 'failed', 'canceled']);
    const trace = s.traceOf(flag.id);
    t.equal(s.jobs.get(flag.id)?.status, 'failed', 'the job failed');
    t.match(trace, /^(?:\S+ [0-9a-f]{2}[OE][ +])?flag is false$/m, 'the job sees the flag as configured');
    if (!t.match(trace, /Job failed: exit code 1\b/, 'the legacy eval form ran: exit code 1, not 3')) t.comment(trace);
    t.notOk(m.log.some((e) => /unknown feature flag/.test(JSON.stringify(e))), 'runner run does not warn about it either');

    const globs = s.enqueueJob({
      name: 'globs',
      stage: 'test',
      repo: 'group/primitives',
      script: ['for d in a b c; do mkdir -p out/$d && echo $d > out/$d/x.txt; done'],
      artifacts: [{ name: 'out', paths: ['out/{a,b}/x.txt'], exclude: [], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip', untracked: false, expire_in: '1 day' }],
    });
    await s.waitForJobState(globs.id, ['success', 'failed', 'canceled']);
    if (!t.equal(s.jobs.get(globs.id)?.status, 'success', 'the globs job succeeded')) t.comment(s.traceOf(globs.id));
    const stored = s.artifactsOf(globs.id);
    t.equal(stored.length, 1, 'an artifact was uploaded');
    if (stored[0] !== undefined) {
      const zipFile = join(mkdtempSync(join(tmpdir(), 'run-one-primitive-zip-')), 'out.zip');
      writeFileSync(zipFile, stored[0].data);
      const files = (await listZip(zipFile)).filter((e) => !e.name.endsWith('/')).map((e) => e.name).sort();
      t.same(files, ['out/a/x.txt', 'out/b/x.txt'], 'both brace alternatives and nothing else');
    }

    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null }, 'a clean exit');
    await noInstancesLeft(dir);
  });
}
