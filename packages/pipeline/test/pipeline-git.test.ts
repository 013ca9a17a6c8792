// Predefined variables, cache keys and `exists` against real git repositories.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { loadPipeline, type PlannedJob } from '../src/index.js';

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Lovelace',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Lovelace',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_AUTHOR_DATE: '2026-03-04T05:06:07Z',
  GIT_COMMITTER_DATE: '2026-03-04T05:06:07Z',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
}

function repo(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-git-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'Add the pipeline\n\nWith a body line.');
  return dir;
}

function vars(j: PlannedJob | undefined): Record<string, string> {
  return Object.fromEntries((j?.variables ?? []).map((v) => [v.key, v.value]));
}

const CI = 'job:\n  script: echo\n';

t.test('a branch checkout gives branch pipeline variables', async (t) => {
  const dir = repo(t, { '.gitlab-ci.yml': CI });
  git(dir, 'remote', 'add', 'origin', 'git@gitlab.example.com:grp/sub/proj.git');
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  git(dir, 'checkout', '-q', '-b', 'feature/Login');
  const sha = git(dir, 'rev-parse', 'HEAD');
  const p = await loadPipeline(join(dir, '.gitlab-ci.yml'), { pipelineId: 7, firstJobId: 70, now: new Date('2026-05-06T07:08:09.123Z') });
  t.match(vars(p.jobs[0]), {
    CI_COMMIT_SHA: sha,
    CI_COMMIT_SHORT_SHA: sha.slice(0, 8),
    CI_COMMIT_BRANCH: 'feature/Login',
    CI_COMMIT_REF_NAME: 'feature/Login',
    CI_COMMIT_REF_SLUG: 'feature-login',
    CI_COMMIT_MESSAGE: 'Add the pipeline\n\nWith a body line.',
    CI_COMMIT_TITLE: 'Add the pipeline',
    CI_COMMIT_DESCRIPTION: 'With a body line.',
    CI_COMMIT_AUTHOR: 'Ada Lovelace <ada@example.com>',
    CI_COMMIT_TIMESTAMP: '2026-03-04T05:06:07Z',
    CI_DEFAULT_BRANCH: 'main',
    CI_PROJECT_PATH: 'grp/sub/proj',
    CI_PROJECT_NAMESPACE: 'grp/sub',
    CI_PROJECT_ROOT_NAMESPACE: 'grp',
    CI_PROJECT_NAME: 'proj',
    CI_PROJECT_PATH_SLUG: 'grp-sub-proj',
    CI_PIPELINE_ID: '7',
    CI_PIPELINE_SOURCE: 'push',
    CI_PIPELINE_CREATED_AT: '2026-05-06T07:08:09Z',
    CI_CONFIG_PATH: '.gitlab-ci.yml',
    CI_JOB_ID: '70',
    CI_JOB_NAME: 'job',
  });
  t.notOk('CI_COMMIT_TAG' in vars(p.jobs[0]));
});

t.test('a detached HEAD at an annotated tag gives a tag pipeline', async (t) => {
  const dir = repo(t, { '.gitlab-ci.yml': CI });
  git(dir, 'tag', '-a', 'v1.2.0', '-m', 'Release 1.2.0');
  git(dir, 'checkout', '-q', '--detach', 'v1.2.0');
  git(dir, 'branch', '-q', '-D', 'main');
  const v = vars((await loadPipeline(join(dir, '.gitlab-ci.yml'))).jobs[0]);
  t.match(v, { CI_COMMIT_TAG: 'v1.2.0', CI_COMMIT_TAG_MESSAGE: 'Release 1.2.0', CI_COMMIT_REF_NAME: 'v1.2.0', CI_PROJECT_PATH: /^local\/pipeline-git-/ });
  t.notOk('CI_COMMIT_BRANCH' in v);
});

t.test('a detached HEAD on a branch tip takes that branch', async (t) => {
  const dir = repo(t, { '.gitlab-ci.yml': CI });
  git(dir, 'checkout', '-q', '--detach', 'HEAD');
  t.match(vars((await loadPipeline(join(dir, '.gitlab-ci.yml'))).jobs[0]), { CI_COMMIT_BRANCH: 'main' });
});

t.test('outside a repository the documented fallbacks apply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-nogit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.gitlab-ci.yml'), CI);
  t.match(vars((await loadPipeline(join(dir, '.gitlab-ci.yml'))).jobs[0]), {
    CI_COMMIT_SHA: '0'.repeat(40),
    CI_COMMIT_BRANCH: 'main',
    CI_DEFAULT_BRANCH: 'main',
  });
});

t.test('cache keys from files and from the commits that changed them', async (t) => {
  const dir = repo(t, {
    '.gitlab-ci.yml': `
job:
  script: echo
  cache:
    - key: { files: [Gemfile.lock, package.json] }
      paths: [a]
    - key: { files_commits: [package.json], prefix: $CI_JOB_NAME }
      paths: [b]
    - key: { files: [missing.lock], prefix: rspec }
      paths: [c]
`,
    'Gemfile.lock': 'gems\n',
    'package.json': '{}\n',
  });
  const blob = (f: string) => git(dir, 'hash-object', f);
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
  const commit = git(dir, 'log', '-1', '--format=%H', '--', 'package.json');
  const p = await loadPipeline(join(dir, '.gitlab-ci.yml'));
  t.same(
    p.jobs[0]?.cache.map((c) => c.key),
    [sha1([blob('Gemfile.lock'), blob('package.json')].sort().join('-')), `$CI_JOB_NAME-${sha1(commit)}`, 'rspec-default'],
  );
});

t.test('rules: exists sees tracked and untracked files but not ignored ones', async (t) => {
  const dir = repo(t, {
    '.gitlab-ci.yml': `
tracked:
  script: echo
  rules: [{ exists: [src/main.go] }]
untracked:
  script: echo
  rules: [{ exists: ["notes/*.md"] }]
ignored:
  script: echo
  rules: [{ exists: [build/out.bin] }]
`,
    'src/main.go': 'package main\n',
    '.gitignore': 'build/\n',
  });
  mkdirSync(join(dir, 'notes'));
  writeFileSync(join(dir, 'notes', 'todo.md'), 'x');
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build', 'out.bin'), 'x');
  const p = await loadPipeline(join(dir, '.gitlab-ci.yml'));
  t.same(p.jobs.map((j) => j.name), ['tracked', 'untracked']);
});
