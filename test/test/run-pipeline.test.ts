import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listZip } from '@fleetrunner/gitlab';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { alive, makeRepo, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const LINES = 400;

/** A job log without the FF_TIMESTAMPS prefix of each line (`<time> <stream><O|E><space|+>`). */
function plainLines(trace: string): string {
  return trace.replace(/^\S+ [0-9a-f]{2}[OE][ +]/gm, '');
}

if (process.getuid?.() !== 0) {
  t.test('runner run pipeline through real sshd', { skip: 'needs root (the local plugin runs OpenSSH sshd as the current user)' }, async () => {});
} else {
  t.test('a pipeline requested by runner run runs on local instances through real sshd; traces complete and in order; artifacts pass between jobs', async (t) => {
    const dir = tmpDir(t, { prefix: 'run-pipeline' });
    const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
    t.teardown(() => s.close());
    s.addGitRepo('group/project', makeRepo(join(dir, 'repo')));
    const { token } = s.registerRunner();
    const config = writeRunConfig({ dir, url: s.url, token, subnet: '127.81.1.0/24', mode: 'sshd' });
    const m = startManager(t, config);

    const build = s.enqueueJob({
      name: 'build',
      stage: 'build',
      repo: 'group/project',
      script: [
        `i=1; while [ $i -le ${LINES} ]; do echo "line $i of the build log"; i=$((i+1)); done`,
        './build.sh > built.txt',
        'mkdir -p out/sub && cp built.txt out/ && echo two > out/sub/two.txt && printf "#!/bin/sh\\necho run\\n" > out/run.sh && chmod 755 out/run.sh && ln -s built.txt out/link',
      ],
      artifacts: [{ name: 'out', paths: ['out/'], exclude: [], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip', untracked: false, expire_in: '1 day' }],
    });
    await s.waitForJobState(build.id, ['success', 'failed', 'canceled']);
    const trace = s.traceOf(build.id);
    if (!t.equal(s.jobs.get(build.id)?.status, 'success', 'build succeeded')) t.comment(trace);
    t.match(trace, /Dialing instance local-\d+\.\.\./, 'the job ran on a local-plugin instance');
    // FF_TIMESTAMPS (on by default, as upstream) prefixes every line with its time and stream: read past it.
    const numbers = [...plainLines(trace).matchAll(/^line (\d+) of the build log$/gm)].map((x) => Number(x[1]));
    t.same(numbers, Array.from({ length: LINES }, (_, i) => i + 1), 'every log line arrived once, in order');
    const final = s.finalStateOf(build.id)!;
    t.equal(final.checksum, final.storedChecksum, 'the final checksum matches the stored trace: nothing is missing');
    t.equal(final.bytesize, final.storedBytes);
    t.match(trace, /Job succeeded/);

    const stored = s.artifactsOf(build.id);
    t.equal(stored.length, 1);
    t.equal(stored[0]!.filename, 'out.zip');
    t.equal(stored[0]!.expireIn, '1 day');
    const zipFile = join(mkdtempSync(join(tmpdir(), 'run-zip-')), 'out.zip');
    writeFileSync(zipFile, stored[0]!.data);
    const entries = await listZip(zipFile);
    t.same(entries.map((e) => e.name).sort(), ['out/', 'out/built.txt', 'out/link', 'out/run.sh', 'out/sub/', 'out/sub/two.txt']);
    t.equal((entries.find((e) => e.name === 'out/run.sh')!.mode & 0o777).toString(8), '755');
    t.ok(entries.find((e) => e.name === 'out/link')!.isSymlink, 'symlinks stay symlinks');

    const test = s.enqueueJob({ name: 'test', stage: 'test', repo: 'group/project', script: ['cat out/built.txt out/sub/two.txt', 'readlink out/link', 'out/run.sh'] });
    test.rawOverride = { dependencies: [{ id: build.id, token: test.token, name: 'build', artifacts_file: { filename: 'out.zip', size: stored[0]!.data.length } }] };
    await s.waitForJobState(test.id, ['success', 'failed', 'canceled']);
    const testTrace = plainLines(s.traceOf(test.id));
    if (!t.equal(s.jobs.get(test.id)?.status, 'success', 'test succeeded')) t.comment(testTrace);
    t.match(testTrace, /Downloading artifacts for build/);
    t.match(testTrace, /^built by \.\/build\.sh\ntwo$/m, 'the artifact files arrived with their content');
    t.match(testTrace, /readlink out\/link\S*\nbuilt\.txt$/m, 'the symlink arrived as a symlink');
    t.match(testTrace, /out\/run\.sh\S*\nrun$/m, 'the executable arrived executable');

    const metrics = await m.metrics();
    t.match(metrics, /^gitlab_runner_jobs_total\{runner="[^"]+",runner_name="e2e",system_id="[rs]_\w{12}"\} 2$/m);
    t.match(metrics, /^fleeting_provisioner_instances\{[^}]*state="running"[^}]*\} [12]$/m);
    t.match(metrics, /^gitlab_runner_api_request_statuses_total\{[^}]*endpoint="request_job",status="201",method="post"\} 2$/m);
    t.match(metrics, /^fleeting_taskscaler_tasks\{[^}]*state="acquired"\} 0$/m);

    const plugins = m.pluginPids();
    t.equal(plugins.length, 1, 'one plugin process for the one runner');
    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null }, 'SIGQUIT with nothing running: a clean exit');
    t.notOk(alive(plugins[0]!), 'the plugin process is gone');
    await noInstancesLeft(dir);
  });
}
