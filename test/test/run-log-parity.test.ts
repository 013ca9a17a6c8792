/* eslint-disable no-control-regex -- job log lines carry ANSI escapes */
// `runner run`: the job log as GitLab Runner writes it — FF_TIMESTAMPS (on by default) prefixes every line, the
// runner's own and the script's, section markers included, with its UTC time, stream number and stream type;
// CI_DEBUG_TRACE runs the scripts with shell xtrace, and masked values stay masked in what it prints.
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];
/** `2026-12-03T17:40:01.123456Z 01E ` (the `+` marks a line continuing the previous one). */
const PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) ([0-9a-f]{2})([OE])([ +])/;

t.test('job log parity: FF_TIMESTAMPS line prefixes, and CI_DEBUG_TRACE xtrace with masking', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-logparity' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 5_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.97.1.0/28', concurrent: 1, capacity: 1, maxInstances: 1 }));
  const startedAt = Date.now() - 1_000;

  await t.test('FF_TIMESTAMPS is on by default: every line carries time, stream and type', async (t) => {
    const id = s.enqueueJob({ variables: NO_GIT, script: ['echo out-line', 'echo err-line >&2', "printf 'no-newline-at-the-end' >&2"] }).id;
    await s.waitForJobState(id, ['success', 'failed']);
    const trace = s.traceOf(id);
    t.equal(s.jobs.get(id)?.status, 'success', 'the job succeeds');
    if (s.jobs.get(id)?.status !== 'success') t.comment(trace);
    t.ok(trace.endsWith('\n'), 'the log ends with a newline');
    const lines = trace.split('\n').slice(0, -1);
    t.ok(lines.length > 10, `${lines.length} lines`);
    const bad = lines.filter((l) => !PREFIX.test(l));
    t.same(bad, [], 'no line without the prefix');
    const until = Date.now() + 1_000;
    for (const l of lines) {
      const at = Date.parse(PREFIX.exec(l)![1]!);
      if (!(at >= startedAt && at <= until)) t.fail(`timestamp out of the job's time: ${l}`);
    }
    const find = (re: RegExp): string | undefined => lines.find((l) => re.test(l));
    t.match(find(/Running with gitlab-runner/), /^\S+ 00O Running with gitlab-runner/, "the runner's own lines are stream 00, stdout");
    t.match(find(/section_start:\d+:prepare_executor/), /^\S+ 00O section_start:\d+:prepare_executor\r\x1b\[0K/, 'section markers the runner writes are timestamped');
    t.match(find(/section_start:\d+:step_script/), /^\S+ 01O section_start:\d+:step_script\r\x1b\[0K/, 'section markers the stage script prints too (stream 01)');
    t.match(find(/section_end:\d+:step_script/), /^\S+ 01O section_end:\d+:step_script\r\x1b\[0K$/);
    t.match(find(/^\S+ \S+ out-line$/), /^\S+ 01O out-line$/, 'script stdout is stream 01, O');
    t.match(find(/^\S+ \S+ err-line$/), /^\S+ 01E err-line$/, 'script stderr is stream 01, E');
    t.ok(find(/^\S+ 01E no-newline-at-the-end$/), 'a partial line gets its prefix too, and a newline at the end of the log');
    // After a section end (a write with a carriage return) the next line of that stream is marked as a continuation.
    t.match(find(/Job succeeded/), /^\S+ 00O[ +]\x1b\[32;1mJob succeeded/);
  });

  await t.test('FF_TIMESTAMPS=false as a job variable turns the prefixes off', async (t) => {
    const id = s.enqueueJob({ variables: [...NO_GIT, { key: 'FF_TIMESTAMPS', value: 'false', public: true }], script: ['echo plain-line'] }).id;
    await s.waitForJobState(id, ['success', 'failed']);
    const trace = s.traceOf(id);
    t.equal(s.jobs.get(id)?.status, 'success', 'the job succeeds');
    if (s.jobs.get(id)?.status !== 'success') t.comment(trace);
    t.match(trace, /^Running with gitlab-runner/);
    t.match(trace, /\nplain-line\n/);
    t.notOk(trace.split('\n').some((l) => PREFIX.test(l)), 'no line has a prefix');
  });

  await t.test('CI_DEBUG_TRACE: the script runs with xtrace; a masked value echoed under it stays masked', async (t) => {
    const secret = 'xtrace-Secret-4711';
    const id = s.enqueueJob({
      variables: [
        ...NO_GIT,
        { key: 'CI_DEBUG_TRACE', value: 'true', public: true },
        { key: 'DEPLOY_PASSWORD', value: secret, masked: true, public: false },
      ],
      script: ['echo "pw=$DEPLOY_PASSWORD"', 'marker_value=visible-42'],
    }).id;
    await s.waitForJobState(id, ['success', 'failed']);
    const trace = s.traceOf(id);
    t.equal(s.jobs.get(id)?.status, 'success', 'the job succeeds');
    if (s.jobs.get(id)?.status !== 'success') t.comment(trace);
    t.notMatch(trace, secret, 'the masked value never reaches GitLab');
    t.match(trace, /01E \++ marker_value=visible-42\n/, 'an assignment shows in the xtrace (stderr, stream 01)');
    t.match(trace, /01E \++ echo pw=\[MASKED\]\n/, 'the traced command shows the masked value as [MASKED]');
    t.match(trace, /01O pw=\[MASKED\]\n/, 'and so does its output');
    t.notMatch(trace, /\+ eval /, 'the trace starts inside the evaluated script, not with the eval line');
  });

  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
