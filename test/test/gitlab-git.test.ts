import t from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitLabClient } from '@fleetrunner/gitlab';
import { startGitLabStandin } from '../src/index.js';

const run = promisify(execFile);
/** git with no prompts and no user/system configuration. */
const gitEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: '/bin/false' };
const git = (args: string[], cwd?: string): Promise<{ stdout: string; stderr: string }> => run('git', args, { env: gitEnv, ...(cwd ? { cwd } : {}) });

function makeRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fr-repo-'));
  const g = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=CI', '-c', 'user.email=ci@example.com', ...args], { cwd: dir, env: gitEnv, encoding: 'utf8' });
  g('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README.md'), '# project\n');
  writeFileSync(join(dir, '.gitlab-ci.yml'), 'test:\n  script: [echo hi]\n');
  g('add', '.');
  g('commit', '-q', '-m', 'first');
  writeFileSync(join(dir, 'README.md'), '# project\n\nsecond\n');
  g('commit', '-q', '-am', 'second');
  return dir;
}

t.test('the job clones its repository through the stand-in with the real git CLI and its job token', async (t) => {
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const repoDir = makeRepo();
  const url = s.addGitRepo('group/project', repoDir);
  t.equal(url, `${s.url}/group/project.git`);
  const { token } = s.registerRunner();
  const c = new GitLabClient({ url: s.url, token });
  s.enqueueJob({ repo: 'group/project' });
  const { job } = await c.requestJob();
  if (!job) throw new Error('no job');
  await c.updateJob(job, { state: 'running' });
  t.match(job.gitInfo.repoUrl, new RegExp(`^http://gitlab-ci-token:${job.token}@127\\.0\\.0\\.1:\\d+/group/project\\.git$`));
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim();
  t.equal(job.gitInfo.sha, head, 'git_info.sha is the repository HEAD');

  const work = mkdtempSync(join(tmpdir(), 'fr-clone-'));
  await git(['clone', '-q', '--depth', '1', job.gitInfo.repoUrl, join(work, 'full')]);
  t.equal(readFileSync(join(work, 'full/README.md'), 'utf8'), '# project\n\nsecond\n');
  t.equal((await git(['rev-parse', 'HEAD'], join(work, 'full'))).stdout.trim(), head);
  t.equal((await git(['rev-list', '--count', 'HEAD'], join(work, 'full'))).stdout.trim(), '1', 'shallow clone');

  await git(['fetch', '-q', '--unshallow'], join(work, 'full'));
  t.equal((await git(['rev-list', '--count', 'HEAD'], join(work, 'full'))).stdout.trim(), '2', 'fetch through the stand-in');

  await t.rejects(git(['clone', '-q', url, join(work, 'anon')]), /Authentication failed|could not read Username|401/, 'no credentials: 401');
  const wrong = new URL(url);
  wrong.username = 'gitlab-ci-token';
  wrong.password = 'glcbt-wrong';
  await t.rejects(git(['clone', '-q', wrong.toString(), join(work, 'wrong')]), /Authentication failed|401/, 'a wrong token: 401');

  await c.updateJob(job, { state: 'success', checksum: 'crc32:00000000', bytesize: 0 });
  await t.rejects(git(['clone', '-q', job.gitInfo.repoUrl, join(work, 'late')]), /Authentication failed|401/, 'the token dies with the job');
  t.ok(s.requests.some((r) => r.path === '/group/project.git/git-upload-pack' && r.status === 200), 'upload-pack served');
});

t.test('a public repository clones without credentials; pushing is refused', async (t) => {
  const s = await startGitLabStandin();
  t.teardown(() => s.close());
  const repoDir = makeRepo();
  const url = s.addGitRepo('pub/lib', repoDir, { public: true });
  const work = mkdtempSync(join(tmpdir(), 'fr-clone-'));
  await git(['clone', '-q', url, join(work, 'lib')]);
  t.equal(readFileSync(join(work, 'lib/.gitlab-ci.yml'), 'utf8'), 'test:\n  script: [echo hi]\n');
  writeFileSync(join(work, 'lib/new.txt'), 'x');
  await git(['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-q', '-a', '--allow-empty', '-m', 'x'], join(work, 'lib'));
  await t.rejects(git(['push', '-q', 'origin', 'HEAD:main'], join(work, 'lib')), /403|not supported/);
});
