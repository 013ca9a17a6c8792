import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadPipeline, type GitInfo, type Pipeline, type PlannedJob } from '../src/index.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/pipeline/', import.meta.url));
const git: GitInfo = {
  sha: 'a'.repeat(40),
  branch: 'main',
  defaultBranch: 'main',
  message: 'Initial commit',
  author: 'A <a@example.com>',
  timestamp: '2026-01-01T00:00:00Z',
  projectPath: 'group/keywords',
};

function job(p: Pipeline, name: string): PlannedJob {
  const j = p.jobs.find((x) => x.name === name);
  if (j === undefined) throw new Error(`no job ${name} in ${p.jobs.map((x) => x.name).join(', ')}`);
  return j;
}

function vars(j: PlannedJob): Record<string, string> {
  return Object.fromEntries(j.variables.map((v) => [v.key, v.value]));
}

/** A project directory outside any git checkout (the repository's ignore rules would hide files from `exists`). */
function project(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

async function load(yaml: string, tdir: string, opts: Parameters<typeof loadPipeline>[1] = {}): Promise<Pipeline> {
  return loadPipeline(join(tdir, '.gitlab-ci.yml'), { git, now: new Date(0), ...opts });
}

t.test('the keywords fixture plans every supported keyword', async (t) => {
  const p = await loadPipeline(join(fixtures, 'keywords/.gitlab-ci.yml'), { git, now: new Date(0) });
  t.ok(p.run);
  t.same(p.stages, ['.pre', 'build', 'test', 'deploy', '.post']);
  t.same(
    p.jobs.map((j) => j.name),
    ['included-job', 'build', 'lint', 'reference-job', 'unit 1/3', 'unit 2/3', 'unit 3/3', 'matrix: [linux, amd64]', 'matrix: [mac, amd64]', 'docker', 'deploy', 'notify-failure', 'legacy', 'cleanup'],
  );
  t.same(p.excluded.map((e) => [e.name, e.reason.replace(/ \(.*\)$/, '')]), [
    ['no-docs', 'no rules matched'],
    ['never-job', 'rules: when: never'],
    ['optional-missing', 'no rules matched'],
  ]);

  const build = job(p, 'build');
  t.same(build.steps, [
    { name: 'script', script: ['echo default-before', 'npm ci', 'npm run build', 'npm run pack'], timeoutSeconds: 1800, when: 'on_success', allowFailure: false },
    { name: 'after_script', script: ['echo default-after'], timeoutSeconds: 1800, when: 'always', allowFailure: true },
  ]);
  t.same(build.image, { name: 'node:20', alias: '', command: [], entrypoint: [''], ports: [], variables: [], pullPolicy: [], executorOptions: {} });
  t.same(build.artifacts, [
    { name: 'build-$CI_COMMIT_REF_SLUG', untracked: false, paths: ['dist/'], exclude: ['dist/**/*.map'], when: 'always', type: 'archive', format: 'zip', expireIn: '1 week' },
  ]);
  const pkg = readFileSync(join(fixtures, 'keywords/package.json'));
  const blob = createHash('sha1').update(`blob ${pkg.length}\0`).update(pkg).digest('hex');
  t.same(build.cache, [
    { key: `deps-${createHash('sha1').update(blob).digest('hex')}`, untracked: false, policy: 'pull-push', paths: ['node_modules/'], when: 'on_success', fallbackKeys: [] },
    { key: 'fixed', untracked: true, policy: 'pull', paths: ['vendor/'], when: 'always', fallbackKeys: ['fixed-main'] },
  ]);
  const bv = vars(build);
  t.match(bv, { OVERRIDDEN: 'job', TEMPLATE_VAR: 'template', GLOBAL_VAR: 'global', NUMBER: '42', DESCRIBED: 'described', FROM_WORKFLOW: 'wf' });
  t.match(bv, { CI_JOB_NAME: 'build', CI_JOB_STAGE: 'build', CI_JOB_ID: '2', CI_NODE_TOTAL: '1', CI_COMMIT_BRANCH: 'main', CI_PROJECT_PATH: 'group/keywords' });
  t.same(
    build.variables.find((v) => v.key === 'RAW_VAR'),
    { key: 'RAW_VAR', value: '$GLOBAL_VAR raw', public: true, file: false, masked: false, raw: true },
  );
  t.equal(build.timeout, 1800, 'default: timeout 30m');
  t.same(build.retry, { max: 1, when: ['always'], exit_codes: [] }, 'default: retry 1');
  t.same(build.tags, ['docker']);

  const lint = job(p, 'lint');
  t.same(lint.needs, [], 'needs: [] starts at once');
  t.equal(lint.image, undefined, 'inherit: default: false drops the default image');
  t.same(lint.steps.map((s) => s.script), [['echo lint']]);
  t.equal(lint.allowFailure, true);
  t.notOk('OVERRIDDEN' in vars(lint), 'inherit: variables lists what is inherited');
  t.equal(vars(lint)['GLOBAL_VAR'], 'global');

  const units = p.jobs.filter((j) => j.baseName === 'unit');
  t.same(units.map((u) => [u.nodeIndex, u.nodeTotal, vars(u)['CI_NODE_INDEX'], vars(u)['CI_NODE_TOTAL']]), [[1, 3, '1', '3'], [2, 3, '2', '3'], [3, 3, '3', '3']]);
  t.same(units[0]!.steps[0]!.script, ['echo "unit $CI_NODE_INDEX/$CI_NODE_TOTAL"'], 'before_script: [] disables the default');
  t.same(units[0]!.retry, { max: 2, when: ['script_failure'], exit_codes: [137] });

  const linux = job(p, 'matrix: [linux, amd64]');
  const mac = job(p, 'matrix: [mac, amd64]');
  t.match(vars(linux), { OS: 'linux', ARCH: 'amd64', CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2' });
  t.equal(linux.when, 'on_success');
  t.equal(mac.when, 'manual', 'rules see the matrix variables');
  t.equal(mac.allowFailure, false, 'a manual job from rules is not allowed to fail by default');
  t.same(linux.dependencies, ['build']);

  const docker = job(p, 'docker');
  t.equal(vars(docker)['HAS_DOCKERFILE'], 'yes', 'rules: exists matched and set its variables');
  t.same([docker.allowFailure, docker.allowFailureExitCodes], [false, [3, 4]]);

  const deploy = job(p, 'deploy');
  t.same(deploy.needs, [
    { name: 'build', artifacts: false, optional: false },
    { name: 'matrix: [linux, amd64]', artifacts: true, optional: false },
  ]);
  t.same(deploy.dependencies, ['matrix: [linux, amd64]'], 'artifacts come from needs with artifacts: true');
  t.same([deploy.when, deploy.allowFailure, deploy.timeout], ['manual', true, 5400]);

  t.equal(job(p, 'notify-failure').when, 'on_failure');
  t.same(job(p, 'reference-job').steps[0]!.script, ['echo default-before', 'echo setup-1', 'echo setup-2', 'echo main']);
  t.equal(vars(job(p, 'included-job'))['INCLUDED'], 'yes');
  const cleanup = job(p, 'cleanup');
  t.same([cleanup.stage, cleanup.when, cleanup.steps.length], ['.post', 'always', 1]);
  t.same(cleanup.dependencies, ['build'], 'without needs, artifacts come from every earlier job that has some');
  t.same(
    p.warnings.map((w) => [w.line, w.path]),
    [[40, 'build.tags']],
  );
});

t.test('user variables win over job variables; workflow rules can stop the pipeline', async (t) => {
  const file = join(fixtures, 'keywords/.gitlab-ci.yml');
  const p = await loadPipeline(file, { git, now: new Date(0), variables: { OVERRIDDEN: 'user', SKIP_LEGACY: '1' } });
  const v = job(p, 'build').variables.find((x) => x.key === 'OVERRIDDEN');
  t.same(v, { key: 'OVERRIDDEN', value: 'user', public: false, file: false, masked: false, raw: false });
  t.ok(p.excluded.some((e) => e.name === 'legacy' && e.reason === 'only/except'), 'except: variables');

  const skipped = await loadPipeline(file, { git: { ...git, message: 'wip skip-pipeline' }, now: new Date(0) });
  t.equal(skipped.run, false);
  t.match(skipped.reason, /workflow: rules said never/);
  t.same(skipped.jobs, []);

  const tag = await loadPipeline(file, { git: { ...git, branch: undefined, tag: 'v1.0' }, now: new Date(0) });
  t.equal(tag.jobs.find((j) => j.name === 'legacy'), undefined, 'only: [main, /^release-.*$/] does not take tag v1.0');
  t.match(vars(tag.jobs[0]!), { CI_COMMIT_TAG: 'v1.0', CI_COMMIT_REF_NAME: 'v1.0' });
  t.notOk('CI_COMMIT_BRANCH' in vars(tag.jobs[0]!), 'a tag override drops the branch');
});

t.test('extends merges mappings deeply, replaces lists, and takes parents in order', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
.a:
  variables: { A: a, SHARED: a }
  script: [a1, a2]
  artifacts: { paths: [a/], when: always }
.b:
  extends: .a
  variables: { B: b, SHARED: b }
  script: [b1]
.c:
  image: c-image
  variables: { SHARED: c }
job:
  extends: [.b, .c]
  artifacts: { paths: [job/] }
`,
  });
  const p = await load('', dir);
  const j = job(p, 'job');
  t.match(vars(j), { A: 'a', B: 'b', SHARED: 'c' });
  t.same(j.steps[0]!.script, ['b1']);
  t.match(j.image, { name: 'c-image', entrypoint: [] });
  t.match(j.artifacts, [{ paths: ['job/'], when: 'always' }]);
  t.same(p.jobs.map((x) => x.name), ['job'], 'hidden jobs do not run');
});

t.test('YAML 1.1 scalars, anchors, merge keys and !reference in rules', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
.common: &common
  stage: build
  variables: &vars
    LEVEL: "1"
.rules:
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: never
    - when: on_success
build:
  <<: *common
  script: echo build
  allow_failure: yes
  rules:
    - !reference [.rules, rules]
test:
  script: echo test
  variables:
    <<: *vars
    EXTRA: x
`,
  });
  const p = await load('', dir);
  t.same(p.jobs.map((x) => x.name), ['build', 'test']);
  t.equal(job(p, 'build').stage, 'build');
  t.equal(job(p, 'build').allowFailure, true, 'yes is true in YAML 1.1, as in GitLab');
  t.match(vars(job(p, 'test')), { LEVEL: '1', EXTRA: 'x' });
  const scheduled = await load('', dir, { pipelineSource: 'schedule' });
  t.same(scheduled.jobs.map((x) => x.name), ['test']);
});

t.test('default stages, deprecated globals and the .pre/.post-only rule', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
image: ruby:3
before_script: [echo global]
first:
  stage: .pre
  script: echo pre
`,
  });
  const p = await load('', dir);
  t.same(p.stages, ['.pre', 'build', 'test', 'deploy', '.post']);
  t.equal(p.run, false);
  t.equal(p.reason, 'the pipeline has only .pre and .post jobs');
  t.match(job(p, 'first').image, { name: 'ruby:3' });
  t.same(job(p, 'first').steps[0]!.script, ['echo global', 'echo pre']);
  t.same(
    p.warnings.map((w) => w.message),
    ['a top-level image is deprecated; use default: image', 'a top-level before_script is deprecated; use default: before_script'],
  );
});

t.test('unknown and ignored keys are warnings naming the key', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
job:
  script: echo
  scirpt: typo
  services: [postgres]
  artifacts:
    paths: [a]
    reports: { junit: r.xml }
  when: delayed
  start_in: 5 minutes
`,
  });
  const p = await load('', dir);
  t.same(
    p.warnings.map((w) => `${w.line}: ${w.path}: ${w.message}`),
    [
      '4: job.scirpt: unknown job key; ignored',
      '5: job.services: service containers are not started by a local run; ignored',
      '8: job.artifacts.reports: artifacts reports are not collected by a local run; ignored',
      '2: job.when: delayed jobs start without their delay in a local run',
    ],
  );
  t.equal(job(p, 'job').when, 'on_success');
});

t.test('needs: parallel jobs expand, optional needs drop, $[[ matrix.X ]] picks the own instance', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
build:
  stage: build
  parallel:
    matrix:
      - OS: [linux, mac]
  script: echo
test:
  stage: test
  parallel:
    matrix:
      - OS: [linux, mac]
  needs:
    - job: build
      parallel:
        matrix:
          - OS: $[[ matrix.OS ]]
    - job: gone
      optional: true
  script: echo
all:
  stage: deploy
  needs: [test]
  script: echo
gone:
  script: echo
  rules: [{ if: $NOPE }]
`,
  });
  const p = await load('', dir);
  t.same(job(p, 'test: [linux]').needs?.map((n) => n.name), ['build: [linux]']);
  t.same(job(p, 'test: [mac]').needs?.map((n) => n.name), ['build: [mac]']);
  t.same(job(p, 'all').needs?.map((n) => n.name), ['test: [linux]', 'test: [mac]']);
});

t.test('rules: changes matches with a warning; exists sees the project files', async (t) => {
  const dir = project(t, {
    '.gitlab-ci.yml': `
changed:
  script: echo
  rules:
    - changes: [src/**/*]
present:
  script: echo
  rules:
    - exists: ["src/**/*.ts"]
absent:
  script: echo
  rules:
    - exists: [missing.txt]
`,
    'src/lib/a.ts': 'export {}',
  });
  const p = await load('', dir);
  t.same(p.jobs.map((j) => j.name), ['changed', 'present']);
  t.match(p.warnings, [{ path: 'changed.rules[0].changes', message: /cannot be evaluated/ }]);
});
