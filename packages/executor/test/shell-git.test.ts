// get_sources against real repositories: clone / fetch / none / empty, depth, checkout, clean flags,
// tags, submodules, hooks, credentials over smart HTTP, clear_worktree and job cleanup — under dash and bash.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobVariable, ScriptInput, ShellName } from '../src/shell/index.js';
import { SHELLS, jv, makeJob, plain, runScript, script, tempDir, type TestJob } from './fixtures/shell/harness.js';
import { git, makeUpstream, type Upstream } from './fixtures/shell/git-fixture.js';
import { startGitHttpServer } from './fixtures/shell/git-http-server.js';

const FILE_PROTOCOL: JobVariable[] = [jv('GIT_CONFIG_COUNT', '1'), jv('GIT_CONFIG_KEY_0', 'protocol.file.allow'), jv('GIT_CONFIG_VALUE_0', 'always')];

let up: Upstream;
t.before(() => {
  up = makeUpstream(tempDir(t, 'fr-upstream-'));
});

function gitJob(shell: ShellName, extra: Omit<TestJob, 'shell'> = {}): ScriptInput {
  return makeJob({
    shell,
    repoUrl: up.url,
    sha: up.shas[2],
    ...extra,
    variables: [...FILE_PROTOCOL, ...(extra.variables ?? [])],
  });
}

async function getSources(shell: ShellName, input: ScriptInput, home: string): Promise<{ code: number | null; out: string; dir: string }> {
  const r = await runScript(shell, script('get_sources', input), home);
  return { code: r.code, out: plain(r.all), dir: join(home, input.env.paths.projectDir) };
}

for (const shell of SHELLS) {
  t.test(`${shell}: clone, then fetch reusing the checkout`, async (t) => {
    const home = tempDir(t);
    const dir = join(home, gitJob(shell).env.paths.projectDir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stale.txt'), 'from an older job');

    const clone = await getSources(shell, gitJob(shell, { variables: [jv('GIT_STRATEGY', 'clone')] }), home);
    t.equal(clone.code, 0, clone.out);
    t.match(clone.out, 'Fetching changes...\n');
    t.match(clone.out, 'Created fresh repository.\n');
    t.match(clone.out, `Checking out ${up.shas[2].slice(0, 8)} as detached HEAD (ref is main)...\n`);
    t.match(clone.out, 'Skipping Git submodules setup\n');
    t.notOk(existsSync(join(dir, 'stale.txt')), 'clone starts from an empty directory');
    t.equal(git(dir, home, 'rev-parse', 'HEAD'), up.shas[2]);
    t.equal(readFileSync(join(dir, 'README.md'), 'utf8'), 'v2\n');
    t.equal(git(dir, home, 'remote', 'get-url', 'origin'), up.url);

    writeFileSync(join(dir, '.git', 'kept-marker'), 'x');
    writeFileSync(join(dir, 'README.md'), 'local edit\n');
    writeFileSync(join(dir, 'untracked.txt'), 'junk');
    writeFileSync(join(dir, 'ignored-by-gitignore'), 'junk');
    writeFileSync(join(dir, '.git', 'index.lock'), '');
    const fetch = await getSources(shell, gitJob(shell, { variables: [jv('GIT_STRATEGY', 'fetch')], sha: up.shas[1] }), home);
    t.equal(fetch.code, 0, fetch.out);
    t.ok(existsSync(join(dir, '.git', 'kept-marker')), 'fetch reuses the repository');
    t.equal(git(dir, home, 'rev-parse', 'HEAD'), up.shas[1]);
    t.equal(readFileSync(join(dir, 'README.md'), 'utf8'), 'v2\n', 'tracked changes are discarded');
    t.notOk(existsSync(join(dir, 'untracked.txt')), 'untracked files removed by git clean -ffdx');
    t.notOk(existsSync(join(dir, 'ignored-by-gitignore')), 'ignored files removed too (-x)');
  });

  t.test(`${shell}: GIT_CLEAN_FLAGS`, async (t) => {
    const cases = [
      { name: 'default -ffdx', flags: undefined, keepSurvives: false, junkSurvives: false },
      { name: 'exclude pattern', flags: '-ffdx -e keep.me', keepSurvives: true, junkSurvives: false },
      { name: 'none', flags: 'none', keepSurvives: true, junkSurvives: true },
    ];
    for (const c of cases) {
      const home = tempDir(t);
      const vars = [jv('GIT_STRATEGY', 'fetch'), ...(c.flags ? [jv('GIT_CLEAN_FLAGS', c.flags)] : [])];
      const first = await getSources(shell, gitJob(shell, { variables: vars }), home);
      t.equal(first.code, 0, `${c.name}: first fetch ${first.out}`);
      writeFileSync(join(first.dir, 'keep.me'), 'k');
      writeFileSync(join(first.dir, 'junk'), 'j');
      const second = await getSources(shell, gitJob(shell, { variables: vars }), home);
      t.equal(second.code, 0, `${c.name}: second fetch`);
      t.equal(existsSync(join(first.dir, 'keep.me')), c.keepSurvives, `${c.name}: keep.me`);
      t.equal(existsSync(join(first.dir, 'junk')), c.junkSurvives, `${c.name}: junk`);
    }
  });

  t.test(`${shell}: GIT_STRATEGY none and empty`, async (t) => {
    const home = tempDir(t);
    const none = gitJob(shell, { variables: [jv('GIT_STRATEGY', 'none')], input: { hooks: [{ name: 'pre_get_sources_script', script: ['echo hook-ran'] }] } });
    const dir = join(home, none.env.paths.projectDir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kept.txt'), 'x');
    const r = await getSources(shell, none, home);
    t.equal(r.code, 0, r.out);
    t.match(r.out, 'Skipping Git repository setup\n');
    t.match(r.out, 'Skipping Git checkout\n');
    t.notMatch(r.out, 'hook-ran', 'get_sources hooks do not run for none');
    t.ok(existsSync(join(dir, 'kept.txt')));
    t.notOk(existsSync(join(dir, '.git')));

    const empty = gitJob(shell, { variables: [jv('GIT_STRATEGY', 'empty')] });
    t.equal(empty.env.paths.projectDir, `${none.env.paths.projectDir}-empty`);
    const edir = join(home, empty.env.paths.projectDir);
    mkdirSync(edir, { recursive: true });
    writeFileSync(join(edir, 'old.txt'), 'x');
    const e = await getSources(shell, empty, home);
    t.equal(e.code, 0, e.out);
    t.match(e.out, 'Skipping Git repository setup and creating an empty build directory\n');
    t.same(readdirSync(edir), [], 'the directory is recreated empty');
  });

  t.test(`${shell}: GIT_DEPTH shallow fetch, then unshallow`, async (t) => {
    const home = tempDir(t);
    const shallow = await getSources(shell, gitJob(shell, { variables: [jv('GIT_STRATEGY', 'fetch')], depth: 1 }), home);
    t.equal(shallow.code, 0, shallow.out);
    t.match(shallow.out, 'Fetching changes with git depth set to 1...\n');
    t.ok(existsSync(join(shallow.dir, '.git', 'shallow')));
    t.equal(git(shallow.dir, home, 'rev-list', '--count', 'HEAD'), '1');
    const full = await getSources(shell, gitJob(shell, { variables: [jv('GIT_STRATEGY', 'fetch')], depth: 0 }), home);
    t.equal(full.code, 0, full.out);
    t.notOk(existsSync(join(full.dir, '.git', 'shallow')), 'a full fetch unshallows');
    t.equal(git(full.dir, home, 'rev-list', '--count', 'HEAD'), '3');
  });

  t.test(`${shell}: GIT_CHECKOUT=false and a tag ref`, async (t) => {
    const home = tempDir(t);
    const noCheckout = await getSources(shell, gitJob(shell, { variables: [jv('GIT_CHECKOUT', 'false')] }), home);
    t.equal(noCheckout.code, 0, noCheckout.out);
    t.match(noCheckout.out, 'Skipping Git checkout\n');
    t.notOk(existsSync(join(noCheckout.dir, 'README.md')), 'no working tree');
    t.ok(existsSync(join(noCheckout.dir, '.git')));

    const tag = await getSources(shell, gitJob(shell, { ref: up.tag, sha: up.shas[0], refspecs: ['+refs/tags/*:refs/tags/*'] }), home);
    t.equal(tag.code, 0, tag.out);
    t.match(tag.out, `Checking out ${up.shas[0].slice(0, 8)} as detached HEAD (ref is v1.0)...`);
    t.equal(readFileSync(join(tag.dir, 'README.md'), 'utf8'), 'v1\n');
    t.equal(git(tag.dir, home, 'tag'), 'v1.0');
  });

  t.test(`${shell}: submodule strategies`, async (t) => {
    const cases: Array<{ name: string; vars: JobVariable[]; sub: boolean; nested: boolean; other: boolean; subShallow?: boolean; notice: string }> = [
      { name: 'none', vars: [], sub: false, nested: false, other: false, notice: 'Skipping Git submodules setup' },
      { name: 'normal', vars: [jv('GIT_SUBMODULE_STRATEGY', 'normal')], sub: true, nested: false, other: true, notice: 'Updating/initializing submodules...' },
      { name: 'recursive', vars: [jv('GIT_SUBMODULE_STRATEGY', 'recursive')], sub: true, nested: true, other: true, notice: 'Updating/initializing submodules recursively...' },
      {
        name: 'recursive with GIT_SUBMODULE_DEPTH=1',
        vars: [jv('GIT_SUBMODULE_STRATEGY', 'recursive'), jv('GIT_SUBMODULE_DEPTH', '1')],
        sub: true,
        nested: true,
        other: true,
        subShallow: true,
        notice: 'Updating/initializing submodules recursively with git depth set to 1...',
      },
      { name: 'GIT_SUBMODULE_PATHS', vars: [jv('GIT_SUBMODULE_STRATEGY', 'normal'), jv('GIT_SUBMODULE_PATHS', 'libs/other')], sub: false, nested: false, other: true, notice: 'Updating/initializing submodules...' },
    ];
    for (const c of cases) {
      const home = tempDir(t);
      const r = await getSources(shell, gitJob(shell, { variables: c.vars }), home);
      t.equal(r.code, 0, `${c.name}: ${r.out}`);
      t.match(r.out, c.notice, `${c.name}: notice`);
      t.equal(existsSync(join(r.dir, 'libs/sub/sub.txt')), c.sub, `${c.name}: libs/sub`);
      t.equal(existsSync(join(r.dir, 'libs/sub/nested/nested.txt')), c.nested, `${c.name}: nested`);
      t.equal(existsSync(join(r.dir, 'libs/other/other.txt')), c.other, `${c.name}: libs/other`);
      if (c.sub) {
        t.equal(existsSync(join(r.dir, '.git/modules/libs/sub/shallow')), c.subShallow === true, `${c.name}: submodule depth`);
        t.match(git(join(r.dir, 'libs/sub'), home, 'config', '--get-all', 'include.path'), '.gitlab-runner.ext.conf', `${c.name}: credentials config included`);
      }
      if (c.sub) {
        writeFileSync(join(r.dir, 'libs/sub/sub.txt'), 'dirty');
        writeFileSync(join(r.dir, 'libs/sub/junk'), 'junk');
        const again = await getSources(shell, gitJob(shell, { variables: [...c.vars, jv('GIT_STRATEGY', 'fetch')] }), home);
        t.equal(again.code, 0, `${c.name}: fetch again`);
        t.equal(readFileSync(join(r.dir, 'libs/sub/sub.txt'), 'utf8'), 'sub\n', `${c.name}: submodule reset`);
        t.notOk(existsSync(join(r.dir, 'libs/sub/junk')), `${c.name}: submodule cleaned`);
      }
    }
  });

  t.test(`${shell}: pre and post get_sources hooks, in upstream order`, async (t) => {
    const home = tempDir(t);
    const input = gitJob(shell, {
      input: {
        hooks: [
          { name: 'pre_get_sources_script', script: ['echo job-pre'] },
          { name: 'post_get_sources_script', script: ['echo job-post "$(git rev-parse HEAD)"'] },
        ],
        runnerScripts: { preGetSourcesScript: 'echo runner-pre', postGetSourcesScript: 'echo runner-post' },
      },
    });
    const r = await getSources(shell, input, home);
    t.equal(r.code, 0, r.out);
    const order = ['$ echo runner-pre', 'runner-pre', '$ echo job-pre', 'job-pre', 'Fetching changes', `job-post ${up.shas[2]}`, '$ echo runner-post', 'runner-post'];
    const positions = order.map((s) => r.out.indexOf(s));
    t.ok(positions.every((p, i) => p >= 0 && (i === 0 || p > (positions[i - 1] ?? 0))), `order ${JSON.stringify(positions)}`);
    const failing = await getSources(shell, gitJob(shell, { input: { hooks: [{ name: 'pre_get_sources_script', script: ['exit 9'] }] } }), tempDir(t));
    t.equal(failing.code, 9, 'a failing hook fails get_sources');
  });

  t.test(`${shell}: clear_worktree and FF_ENABLE_JOB_CLEANUP`, async (t) => {
    const home = tempDir(t);
    const fetchJob = gitJob(shell, { variables: [jv('GIT_STRATEGY', 'fetch'), jv('FF_ENABLE_JOB_CLEANUP', 'true')] });
    const r = await getSources(shell, fetchJob, home);
    t.equal(r.code, 0, r.out);
    writeFileSync(join(r.dir, 'untracked'), 'x');
    writeFileSync(join(r.dir, 'README.md'), 'edited');
    const cleanup = await runScript(shell, script('cleanup_file_variables', fetchJob), home);
    t.equal(cleanup.code, 0, cleanup.all);
    t.notOk(existsSync(join(r.dir, 'untracked')), 'fetch: git clean');
    t.equal(readFileSync(join(r.dir, 'README.md'), 'utf8'), 'v2\n', 'fetch: git reset --hard');

    const cleared = await runScript(shell, script('clear_worktree', fetchJob), home);
    t.equal(cleared.code, 0, cleared.all);
    t.match(plain(cleared.stdout), 'Deleting tracked and untracked files...');
    t.notOk(existsSync(join(r.dir, 'README.md')), 'clear_worktree removes tracked files');

    const cloneJob = gitJob(shell, { variables: [jv('GIT_STRATEGY', 'clone'), jv('FF_ENABLE_JOB_CLEANUP', 'true')] });
    t.equal((await getSources(shell, cloneJob, home)).code, 0);
    t.equal((await runScript(shell, script('cleanup_file_variables', cloneJob), home)).code, 0);
    t.notOk(existsSync(r.dir), 'clone: the checkout is removed');
  });
}

t.test('job token over HTTP: used through insteadOf, never stored in .git/config nor printed', async (t) => {
  const token = 'glcbt-64_TokenValue-xyz';
  const server = await startGitHttpServer(up.root, token);
  t.teardown(() => server.close());
  const repoUrl = `${server.url.replace('http://', `http://gitlab-ci-token:${token}@`)}/main.git`;
  for (const shell of SHELLS) {
    const home = tempDir(t);
    const input = gitJob(shell, { repoUrl, variables: [jv('CI_JOB_TOKEN', token, { masked: true }), jv('GIT_SUBMODULE_STRATEGY', 'none')] });
    const before = server.authorized();
    const r = await runScript(shell, script('get_sources', input), home);
    t.equal(r.code, 0, `${shell}: ${r.all}`);
    t.ok(server.authorized() > before, `${shell}: the server saw the job token`);
    t.notMatch(r.all, token, `${shell}: token not in the output`);
    const dir = join(home, input.env.paths.projectDir);
    t.notMatch(readFileSync(join(dir, '.git/config'), 'utf8'), token, `${shell}: token not in .git/config`);
    t.equal(git(dir, home, 'config', '--file', '.git/config', 'remote.origin.url'), `${server.url}/main.git`, `${shell}: credential-free remote`);
    t.equal(git(dir, home, 'rev-parse', 'HEAD'), up.shas[2]);

    const cleanup = await runScript(shell, script('cleanup_file_variables', input), home);
    t.equal(cleanup.code, 0, cleanup.all);
    t.notMatch(cleanup.all, token);
    t.notOk(existsSync(join(home, input.env.paths.tempDir, '.gitlab-runner.ext.conf')), `${shell}: credential config removed by cleanup`);
    t.throws(() => git(dir, home, '-c', 'credential.interactive=never', 'fetch', 'origin'), `${shell}: without the job's config the token is gone`);
  }
});

t.test('a failing fetch fails get_sources with git\'s exit code', async (t) => {
  const home = tempDir(t);
  const r = await getSources('sh', gitJob('sh', { repoUrl: `file://${join(up.root, 'missing.git')}` }), home);
  t.equal(r.code, 128);
  t.match(r.out, /does not appear to be a git repository|not found/);
});
