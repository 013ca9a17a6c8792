import t from 'tap';
import { createSchedule, type JobResult, type Pipeline, type PlannedJob, type Schedule } from '../src/index.js';

const STAGES = ['.pre', 'build', 'test', 'deploy', '.post'];

interface Spec {
  name: string;
  stage?: string;
  needs?: string[];
  when?: PlannedJob['when'];
  allowFailure?: boolean;
  allowFailureExitCodes?: number[];
  retry?: Partial<PlannedJob['retry']>;
  baseName?: string;
}

function pipeline(specs: Spec[], excluded: Pipeline['excluded'] = []): Pipeline {
  const jobs = specs.map((s): PlannedJob => {
    const stage = s.stage ?? 'test';
    const j: PlannedJob = {
      name: s.name,
      baseName: s.baseName ?? s.name,
      source: { file: '.gitlab-ci.yml', line: 1 },
      stage,
      stageIndex: STAGES.indexOf(stage),
      nodeTotal: 1,
      steps: [{ name: 'script', script: ['true'], timeoutSeconds: 3600, when: 'on_success', allowFailure: false }],
      variables: [],
      artifacts: [],
      cache: [],
      dependencies: [],
      when: s.when ?? 'on_success',
      allowFailure: s.allowFailure ?? false,
      allowFailureExitCodes: s.allowFailureExitCodes ?? [],
      timeout: 3600,
      retry: { max: 0, when: ['always'], exit_codes: [], ...s.retry },
      tags: [],
    };
    if (s.needs !== undefined) j.needs = s.needs.map((name) => ({ name, artifacts: true, optional: false }));
    return j;
  });
  jobs.sort((a, b) => a.stageIndex - b.stageIndex);
  return { file: '/p/.gitlab-ci.yml', projectDir: '/p', stages: STAGES, jobs, excluded, variables: [], run: true, warnings: [] };
}

type Outcome = JobResult['status'] | JobResult;

/**
 * Drives a schedule: starts every ready job, then finishes running jobs in `order` (a job may appear more
 * than once when it is retried); a name absent from `order` is finished when nothing else is left, in
 * pipeline order. Returns the ready sets seen after each finish.
 */
function drive(s: Schedule, outcomes: Record<string, Outcome | Outcome[]>, order: string[] = []): string[][] {
  const waves: string[][] = [];
  const pending = [...order];
  const attempts = new Map<string, number>();
  const startReady = (): void => {
    const ready = s.ready().map((j) => j.name);
    if (ready.length > 0) waves.push(ready);
    for (const n of ready) s.start(n);
  };
  startReady();
  for (let guard = 0; !s.done() && guard < 1000; guard++) {
    const running = s.jobs.filter((j) => j.state === 'running').map((j) => j.job.name);
    if (running.length === 0) break;
    const idx = pending.findIndex((n) => running.includes(n));
    const name = idx >= 0 ? pending.splice(idx, 1)[0]! : running[0]!;
    const n = attempts.get(name) ?? 0;
    attempts.set(name, n + 1);
    const o = outcomes[name] ?? 'success';
    const one = Array.isArray(o) ? (o[n] ?? o[o.length - 1]!) : o;
    s.finish(name, typeof one === 'string' ? { status: one } : one);
    startReady();
  }
  return waves;
}

function states(s: Schedule): Record<string, string> {
  return Object.fromEntries(s.jobs.map((j) => [j.job.name, j.state]));
}

interface Case {
  name: string;
  jobs: Spec[];
  outcomes?: Record<string, Outcome | Outcome[]>;
  order?: string[];
  only?: string[];
  waves?: string[][];
  states: Record<string, string>;
  status: string;
}

const cases: Case[] = [
  {
    name: 'stages run in order, jobs of a stage together',
    jobs: [{ name: 'build', stage: 'build' }, { name: 't1' }, { name: 't2' }, { name: 'deploy', stage: 'deploy' }],
    waves: [['build'], ['t1', 't2'], ['deploy']],
    states: { build: 'success', t1: 'success', t2: 'success', deploy: 'success' },
    status: 'success',
  },
  {
    name: 'a failure skips the on_success jobs of later stages; the current stage finishes',
    jobs: [{ name: 'b1', stage: 'build' }, { name: 'b2', stage: 'build' }, { name: 'test' }, { name: 'deploy', stage: 'deploy' }],
    outcomes: { b1: 'failed' },
    waves: [['b1', 'b2']],
    states: { b1: 'failed', b2: 'success', test: 'skipped', deploy: 'skipped' },
    status: 'failed',
  },
  {
    name: 'allow_failure lets later stages run and the pipeline pass',
    jobs: [{ name: 'lint', stage: 'build', allowFailure: true }, { name: 'test' }],
    outcomes: { lint: 'failed' },
    states: { lint: 'failed', test: 'success' },
    status: 'success',
  },
  {
    name: 'when: on_failure runs after a failure, when: always runs anyway',
    jobs: [{ name: 'build', stage: 'build' }, { name: 'test' }, { name: 'notify', stage: 'deploy', when: 'on_failure' }, { name: 'cleanup', stage: '.post', when: 'always' }],
    outcomes: { build: 'failed' },
    states: { build: 'failed', test: 'skipped', notify: 'success', cleanup: 'success' },
    status: 'failed',
  },
  {
    name: 'when: on_failure is skipped when nothing failed',
    jobs: [{ name: 'build', stage: 'build' }, { name: 'notify', stage: 'deploy', when: 'on_failure' }, { name: 'cleanup', stage: '.post', when: 'always' }],
    states: { build: 'success', notify: 'skipped', cleanup: 'success' },
    status: 'success',
  },
  {
    name: 'a manual job is not run unless named; an optional one does not block',
    jobs: [{ name: 'build', stage: 'build' }, { name: 'review', when: 'manual', allowFailure: true }, { name: 'deploy', stage: 'deploy' }],
    states: { build: 'success', review: 'manual', deploy: 'success' },
    status: 'success',
  },
  {
    name: 'a blocking manual job (allow_failure: false) blocks later stages',
    jobs: [{ name: 'build', stage: 'build' }, { name: 'approve', when: 'manual', allowFailure: false }, { name: 'deploy', stage: 'deploy' }],
    states: { build: 'success', approve: 'manual', deploy: 'skipped' },
    status: 'manual',
  },
  {
    name: 'needs: [] and needs start jobs before their stage',
    jobs: [
      { name: 'build-a', stage: 'build' },
      { name: 'build-b', stage: 'build' },
      { name: 'lint', stage: 'test', needs: [] },
      { name: 'test-a', stage: 'test', needs: ['build-a'] },
      { name: 'test-b', stage: 'test', needs: ['build-b'] },
      { name: 'deploy', stage: 'deploy' },
    ],
    order: ['build-a', 'test-a', 'lint', 'build-b', 'test-b'],
    waves: [['build-a', 'build-b', 'lint'], ['test-a'], ['test-b'], ['deploy']],
    states: { 'build-a': 'success', 'build-b': 'success', lint: 'success', 'test-a': 'success', 'test-b': 'success', deploy: 'success' },
    status: 'success',
  },
  {
    name: 'a failed need skips its dependents only; other branches go on',
    jobs: [
      { name: 'build-a', stage: 'build' },
      { name: 'build-b', stage: 'build' },
      { name: 'test-a', needs: ['build-a'] },
      { name: 'test-b', needs: ['build-b'] },
      { name: 'report-a', stage: 'deploy', needs: ['test-a'] },
    ],
    outcomes: { 'build-a': 'failed' },
    states: { 'build-a': 'failed', 'build-b': 'success', 'test-a': 'skipped', 'test-b': 'success', 'report-a': 'skipped' },
    status: 'failed',
  },
  {
    name: 'a job that needs a skipped job is skipped, unless when: always',
    jobs: [
      { name: 'build', stage: 'build' },
      { name: 'test', needs: ['build'] },
      { name: 'report', stage: 'deploy', needs: ['test'] },
      { name: 'always', stage: 'deploy', needs: ['test'], when: 'always' },
    ],
    outcomes: { build: 'failed' },
    states: { build: 'failed', test: 'skipped', report: 'skipped', always: 'success' },
    status: 'failed',
  },
  {
    name: 'when: on_failure with needs runs when a need failed',
    jobs: [{ name: 'build', stage: 'build' }, { name: 'rollback', needs: ['build'], when: 'on_failure' }],
    outcomes: { build: 'failed' },
    states: { build: 'failed', rollback: 'success' },
    status: 'failed',
  },
  {
    name: 'a job that needs an unrun optional manual job is skipped',
    jobs: [{ name: 'review', stage: 'build', when: 'manual', allowFailure: true }, { name: 'after', needs: ['review'] }],
    states: { review: 'manual', after: 'skipped' },
    status: 'skipped',
  },
  {
    name: 'retry runs a failed job again',
    jobs: [{ name: 'flaky', retry: { max: 2 } }, { name: 'deploy', stage: 'deploy' }],
    outcomes: { flaky: ['failed', 'failed', 'success'] },
    order: ['flaky', 'flaky', 'flaky'],
    waves: [['flaky'], ['flaky'], ['flaky'], ['deploy']],
    states: { flaky: 'success', deploy: 'success' },
    status: 'success',
  },
  {
    name: 'retry stops after max retries',
    jobs: [{ name: 'flaky', retry: { max: 1 } }],
    outcomes: { flaky: 'failed' },
    waves: [['flaky'], ['flaky']],
    states: { flaky: 'failed' },
    status: 'failed',
  },
  {
    name: 'retry: exit_codes and when filter what is retried',
    jobs: [
      { name: 'oom', retry: { max: 2, exit_codes: [137] } },
      { name: 'other', retry: { max: 2, exit_codes: [137] } },
      { name: 'system', retry: { max: 1, when: ['runner_system_failure'] } },
    ],
    outcomes: {
      oom: [{ status: 'failed', exitCode: 137 }, { status: 'success' }],
      other: { status: 'failed', exitCode: 1 },
      system: { status: 'failed', exitCode: 1, failureReason: 'script_failure' },
    },
    waves: [['oom', 'other', 'system'], ['oom']],
    states: { oom: 'success', other: 'failed', system: 'failed' },
    status: 'failed',
  },
  {
    name: 'allow_failure: exit_codes allows only the listed codes',
    jobs: [{ name: 'a', allowFailureExitCodes: [3] }, { name: 'b', allowFailureExitCodes: [3] }, { name: 'deploy', stage: 'deploy' }],
    outcomes: { a: { status: 'failed', exitCode: 3 }, b: { status: 'failed', exitCode: 1 } },
    states: { a: 'failed', b: 'failed', deploy: 'skipped' },
    status: 'failed',
  },
  {
    name: 'naming a job runs it with what it needs; a named manual job runs',
    jobs: [
      { name: 'build', stage: 'build' },
      { name: 'other', stage: 'build' },
      { name: 'test' },
      { name: 'deploy', stage: 'deploy', needs: ['build'], when: 'manual' },
    ],
    only: ['deploy'],
    waves: [['build'], ['deploy']],
    states: { build: 'success', deploy: 'success' },
    status: 'success',
  },
  {
    name: 'naming a parallel job selects all its instances',
    jobs: [
      { name: 'unit 1/2', baseName: 'unit' },
      { name: 'unit 2/2', baseName: 'unit' },
      { name: 'other' },
    ],
    only: ['unit'],
    waves: [['unit 1/2', 'unit 2/2']],
    states: { 'unit 1/2': 'success', 'unit 2/2': 'success' },
    status: 'success',
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const s = createSchedule(pipeline(c.jobs), c.only === undefined ? {} : { only: c.only });
    const waves = drive(s, c.outcomes ?? {}, c.order);
    if (c.waves !== undefined) t.same(waves, c.waves, 'ready sets');
    t.same(states(s), c.states, 'final states');
    t.ok(s.done());
    t.equal(s.status(), c.status, 'pipeline status');
  });
}

t.test('reasons are given for skipped and manual jobs; onChange sees every transition', async (t) => {
  const seen: string[] = [];
  const s = createSchedule(pipeline([{ name: 'build', stage: 'build' }, { name: 'test' }, { name: 'approve', stage: 'deploy', when: 'manual' }]), {
    onChange: (j) => seen.push(`${j.job.name}:${j.state}`),
  });
  drive(s, { build: 'failed' });
  t.same(seen, ['build:pending', 'build:running', 'build:failed', 'test:skipped', 'approve:skipped']);
  t.equal(s.jobs.find((j) => j.job.name === 'test')?.reason, 'an earlier job failed');
  const m = createSchedule(pipeline([{ name: 'approve', when: 'manual' }]));
  t.equal(m.jobs[0]?.reason, 'manual job; name it on the command line to run it');
});

t.test('a named manual job carries CI_JOB_MANUAL', async (t) => {
  const s = createSchedule(pipeline([{ name: 'deploy', when: 'manual' }]), { only: ['deploy'] });
  t.same(s.ready()[0]?.variables.find((v) => v.key === 'CI_JOB_MANUAL')?.value, 'true');
});

t.test('cancel stops what has not started', async (t) => {
  const s = createSchedule(pipeline([{ name: 'build', stage: 'build' }, { name: 'test' }]));
  s.start('build');
  s.cancel();
  s.finish('build', { status: 'canceled' });
  t.same(states(s), { build: 'canceled', test: 'canceled' });
  t.equal(s.status(), 'canceled');
});

t.test('bad input is refused with clear errors', async (t) => {
  t.throws(() => createSchedule(pipeline([{ name: 'a', needs: ['ghost'] }])), { code: 'invalid_argument', message: 'job "a" needs "ghost", which is not a job of the pipeline' });
  t.throws(() => createSchedule(pipeline([{ name: 'a', needs: ['gone'] }], [{ name: 'gone', reason: 'no rules matched' }])), {
    message: 'job "a" needs "gone", which is not in the pipeline (no rules matched)',
  });
  t.throws(() => createSchedule(pipeline([{ name: 'a', needs: ['b'] }, { name: 'b', needs: ['a'] }])), { code: 'invalid_argument', message: 'needs cycle: a → b → a' });
  t.throws(() => createSchedule(pipeline([{ name: 'a' }], [{ name: 'b', reason: 'only/except' }]), { only: ['b'] }), {
    code: 'not_found',
    message: 'job "b": it is not in this pipeline (only/except)',
  });
  t.throws(() => createSchedule(pipeline([{ name: 'a' }]), { only: ['zzz'] }), { code: 'not_found', message: 'job "zzz": no such job; jobs are: a' });
  const s = createSchedule(pipeline([{ name: 'a' }]));
  t.throws(() => s.finish('a', { status: 'success' }), { code: 'invalid_argument', message: 'job "a" is pending, not running' });
  t.throws(() => s.start('nope'), { code: 'not_found' });
});
