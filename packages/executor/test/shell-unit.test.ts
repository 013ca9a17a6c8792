// Pure parts of the shell-script generator: paths, expansion, flags, settings, variable order.
import t from 'tap';
import {
  buildJobVariables,
  computeJobPaths,
  expandSlotTemplate,
  expandString,
  expandVariables,
  insteadOfs,
  prepareJobEnvironment,
  redactUrl,
  resolveFeatureFlags,
  resolveJobSettings,
  shellCommand,
  type JobPathsOptions,
} from '../src/shell/index.js';
import { jv } from './fixtures/shell/harness.js';

const base: JobPathsOptions = {
  shortToken: 'abcdefghi',
  concurrentProjectId: 2,
  repoUrl: 'https://gitlab-ci-token:tok@gitlab.example.com/group/sub/proj.git',
  projectId: 7,
};

t.test('computeJobPaths follows the upstream layout', async (t) => {
  const cases: Array<{ name: string; opts: Partial<JobPathsOptions>; project: string; cache: string; builds?: string }> = [
    { name: 'default shared layout', opts: {}, project: 'builds/abcdefghi/2/group/sub/proj', cache: 'cache/group/sub/proj' },
    { name: 'common build dir', opts: { useCommonBuildDir: true }, project: 'builds/group/sub/proj', cache: 'cache/group/sub/proj' },
    { name: 'empty strategy suffix', opts: { gitStrategy: 'empty' }, project: 'builds/abcdefghi/2/group/sub/proj-empty', cache: 'cache/group/sub/proj-empty' },
    { name: 'absolute builds and cache dirs', opts: { buildsDir: '/srv/b/', cacheDir: '/srv/c' }, project: '/srv/b/abcdefghi/2/group/sub/proj', cache: '/srv/c/group/sub/proj', builds: '/srv/b' },
    { name: 'home dir makes relative dirs absolute', opts: { homeDir: '/home/u' }, project: '/home/u/builds/abcdefghi/2/group/sub/proj', cache: '/home/u/cache/group/sub/proj' },
    { name: 'URL without host falls back to project-<id>', opts: { repoUrl: 'file:///srv/repos/proj.git' }, project: 'builds/abcdefghi/2/project-7', cache: 'cache/project-7' },
    { name: 'URL without host uses project_full_path when given', opts: { repoUrl: 'file:///srv/p.git', projectFullPath: 'grp/p' }, project: 'builds/abcdefghi/2/grp/p', cache: 'cache/grp/p' },
    { name: 'path traversal in the URL falls back', opts: { repoUrl: 'https://h/a/../../etc.git' }, project: 'builds/abcdefghi/2/etc', cache: 'cache/etc' },
    { name: 'allowed GIT_CLONE_PATH', opts: { gitClonePath: 'builds/custom/dir', customBuildDirEnabled: true }, project: 'builds/custom/dir', cache: 'cache/group/sub/proj' },
  ];
  for (const c of cases) {
    const p = computeJobPaths({ ...base, ...c.opts });
    t.equal(p.projectDir, c.project, `${c.name}: project dir`);
    t.equal(p.tempDir, `${c.project}.tmp`, `${c.name}: temp dir`);
    t.equal(p.cacheDir, c.cache, `${c.name}: cache dir`);
    t.equal(p.buildsDir, c.builds ?? (c.opts.homeDir ? `${c.opts.homeDir}/builds` : 'builds'), `${c.name}: builds dir`);
  }
});

t.test('computeJobPaths refuses a GIT_CLONE_PATH that is not allowed', async (t) => {
  const cases = [
    { name: 'custom_build_dir disabled', opts: { gitClonePath: 'builds/x' } },
    { name: 'outside the builds dir', opts: { gitClonePath: '/tmp/x', customBuildDirEnabled: true } },
    { name: 'escaping with ..', opts: { gitClonePath: 'builds/../x', customBuildDirEnabled: true } },
  ];
  for (const c of cases) {
    t.throws(() => computeJobPaths({ ...base, ...c.opts }), { code: 'invalid_argument', details: { failureReason: 'runner_configuration_error' } }, c.name);
  }
});

t.test('expandString has Go os.Expand semantics', async (t) => {
  const vars: Record<string, string> = { A: 'a', B_1: 'b', '$': '$' };
  const lookup = (n: string): string => vars[n] ?? '';
  const cases: Array<[string, string, string]> = [
    ['plain reference', '$A/$B_1', 'a/b'],
    ['braced', '${A}x', 'ax'],
    ['unknown expands to empty', 'x${NOPE}y$NOPE', 'xy'],
    ['double dollar', 'cost $$5', 'cost $5'],
    ['lone dollar at end stays', 'price$', 'price$'],
    ['dollar before space stays', 'a $ b', 'a $ b'],
    ['empty braces are eaten', 'a${}b', 'ab'],
    ['unclosed brace eats ${', 'a${b', 'ab'],
    ['special one-character names', '$1$@x', 'x'],
  ];
  for (const [name, input, want] of cases) t.equal(expandString(input, lookup), want, name);
});

t.test('expandVariables: one pass against the whole list, raw kept, file variables as paths', async (t) => {
  const out = expandVariables([
    jv('RUNNER_TEMP_PROJECT_DIR', 'builds/p.tmp'),
    jv('A', 'x-$B-$C'),
    jv('B', 'later-$A'),
    jv('C', 'c'),
    jv('RAW', '$A', { raw: true }),
    jv('F', 'content', { file: true }),
    jv('USES_F', '$F'),
    jv('C', 'c2'),
  ]);
  const get = (k: string): string | undefined => out.filter((v) => v.key === k).at(-1)?.value;
  t.equal(get('A'), 'x-later-$A-c2', 'references resolve to the unexpanded value, last definition wins');
  t.equal(get('RAW'), '$A');
  t.equal(get('USES_F'), 'builds/p.tmp/F');
  t.equal(get('F'), 'content');
});

t.test('feature flags: TOML > variables > defaults, bad values keep the default', async (t) => {
  const cases: Array<{ name: string; vars: ReturnType<typeof jv>[]; toml: Record<string, boolean>; want: boolean; warn?: boolean }> = [
    { name: 'default', vars: [], toml: {}, want: false },
    { name: 'job variable on', vars: [jv('FF_SCRIPT_SECTIONS', 'true')], toml: {}, want: true },
    { name: 'Go bool forms', vars: [jv('FF_SCRIPT_SECTIONS', 'T')], toml: {}, want: true },
    { name: 'TOML wins', vars: [jv('FF_SCRIPT_SECTIONS', 'true')], toml: { FF_SCRIPT_SECTIONS: false }, want: false },
    { name: 'unparsable keeps default', vars: [jv('FF_SCRIPT_SECTIONS', 'yes please')], toml: {}, want: false, warn: true },
  ];
  for (const c of cases) {
    const r = resolveFeatureFlags(c.vars, c.toml);
    t.equal(r.flags['FF_SCRIPT_SECTIONS'], c.want, c.name);
    t.equal(r.warnings.length > 0, c.warn === true, `${c.name}: warnings`);
    if (c.warn) t.notMatch(r.warnings.join(), /yes please/, 'a warning never quotes the value');
  }
});

t.test('job settings: defaults and validation', async (t) => {
  const r = resolveJobSettings([], { gitDepth: 5 });
  t.same(
    { s: r.settings.gitStrategy, c: r.settings.gitCleanFlags, f: r.settings.gitFetchExtraFlags, d: r.settings.gitSubmoduleDepth, co: r.settings.gitCheckout },
    { s: 'clone', c: ['-ffdx'], f: ['--prune', '--quiet'], d: 5, co: true },
  );
  t.equal(resolveJobSettings([], { allowGitFetch: true }).settings.gitStrategy, 'fetch');
  const cases: Array<{ name: string; vars: ReturnType<typeof jv>[]; check: (s: ReturnType<typeof resolveJobSettings>) => void }> = [
    { name: 'GIT_CLEAN_FLAGS none', vars: [jv('GIT_CLEAN_FLAGS', 'none')], check: (r) => t.same(r.settings.gitCleanFlags, []) },
    { name: 'GIT_CLEAN_FLAGS split', vars: [jv('GIT_CLEAN_FLAGS', ' -ffdx  -e keep ')], check: (r) => t.same(r.settings.gitCleanFlags, ['-ffdx', '-e', 'keep']) },
    { name: 'strategy none disables checkout and submodules', vars: [jv('GIT_STRATEGY', 'none'), jv('GIT_SUBMODULE_STRATEGY', 'recursive')], check: (r) => t.same([r.settings.gitCheckout, r.settings.gitSubmoduleStrategy], [false, 'none']) },
    { name: 'bad strategy keeps default', vars: [jv('GIT_STRATEGY', 'rsync')], check: (r) => t.same([r.settings.gitStrategy, r.errors.length], ['clone', 1]) },
    { name: 'bad submodule strategy', vars: [jv('GIT_SUBMODULE_STRATEGY', 'deep')], check: (r) => t.same([r.settings.gitSubmoduleStrategy, r.errors.length], ['none', 1]) },
    { name: 'attempts clamp', vars: [jv('GET_SOURCES_ATTEMPTS', '99')], check: (r) => t.same([r.settings.getSourcesAttempts, r.errors.length], [10, 1]) },
    { name: 'GIT_CHECKOUT false', vars: [jv('GIT_CHECKOUT', 'false')], check: (r) => t.equal(r.settings.gitCheckout, false) },
    { name: 'exclude pathspec refused', vars: [jv('GIT_SUBMODULE_PATHS', 'a :(exclude) b')], check: (r) => t.same([r.settings.gitSubmodulePaths, r.errors.length], [[], 1]) },
  ];
  for (const c of cases) t.test(c.name, async () => c.check(resolveJobSettings(c.vars)));
});

t.test('buildJobVariables: precedence order and runner-added variables', async (t) => {
  const paths = computeJobPaths(base);
  const out = buildJobVariables({
    jobVariables: [jv('CI_JOB_ID', '1'), jv('FF_SCRIPT_SECTIONS', 'true'), jv('CI_SERVER', 'overridden-by-job'), jv('REF', '$CI_PROJECT_DIR/x')],
    runnerEnvironment: ['RUNNER_ENV=one', 'BROKEN', 'WITH_EQ=a=b'],
    featureFlags: { FF_TIMESTAMPS: false },
    paths,
    concurrentId: 4,
    concurrentProjectId: 2,
    shortToken: 'abcdefghi',
    jobTimeoutSeconds: 3600.7,
    runnerVersion: { version: '1.2.3', revision: 'rev', os: 'linux', arch: 'arm64' },
    jobImage: 'alpine:3',
    tls: { caChain: 'PEM' },
    slotCgroup: { enabled: true, template: 'runner-slot-${slot}.slice/$other', slot: 3 },
  });
  const keys = out.variables.map((v) => v.key);
  const value = (k: string): string | undefined => out.variables.filter((v) => v.key === k).at(-1)?.value;
  t.ok(keys.indexOf('FF_SCRIPT_SECTIONS') < keys.indexOf('CI_RUNNER_SHORT_TOKEN'), 'flags come first');
  t.equal(keys.filter((k) => k === 'FF_SCRIPT_SECTIONS').length, 1, 'job FF keys are replaced by the resolved flag');
  t.equal(value('FF_SCRIPT_SECTIONS'), 'true');
  t.equal(value('FF_TIMESTAMPS'), 'false');
  t.ok(keys.indexOf('CI_PROJECT_DIR') < keys.indexOf('CI_JOB_ID'), 'base variables before job variables');
  t.ok(keys.indexOf('CI_JOB_ID') < keys.indexOf('CI_SHARED_ENVIRONMENT'), 'post variables after job variables');
  t.equal(value('CI_SERVER'), 'overridden-by-job');
  t.equal(value('RUNNER_ENV'), 'one');
  t.equal(value('WITH_EQ'), 'a=b');
  t.notOk(keys.includes('BROKEN'), 'environment entries without = are dropped');
  t.equal(value('CI_JOB_TIMEOUT'), '3600');
  t.equal(value('CI_CONCURRENT_ID'), '4');
  t.equal(value('CI_CONCURRENT_PROJECT_ID'), '2');
  t.equal(value('CI_SHARED_ENVIRONMENT'), 'true');
  t.equal(value('CI_RUNNER_EXECUTABLE_ARCH'), 'linux/arm64');
  t.equal(value('CI_JOB_IMAGE'), 'alpine:3');
  t.equal(value('CI_JOB_STATUS'), 'running');
  t.equal(value('RUNNER_TEMP_PROJECT_DIR'), `${paths.projectDir}.tmp`);
  t.equal(value('GITLAB_ENV'), `${paths.projectDir}.tmp/gitlab_runner_env`);
  t.equal(value('GITLAB_RUNNER_SLOT_CGROUP'), 'runner-slot-3.slice/');
  t.equal(value('REF'), `${paths.projectDir}/x`, 'job variables expand runner variables');
  t.equal(out.variables.find((v) => v.key === 'CI_SERVER_TLS_CA_FILE')?.file, true);
});

t.test('slot cgroup: template expansion and when it is added', async (t) => {
  t.equal(expandSlotTemplate('gitlab-runner/slot-${slot}', 5), 'gitlab-runner/slot-5');
  t.equal(expandSlotTemplate('s-$slot-${x}', 0), 's-0-');
  const paths = computeJobPaths(base);
  const common = { jobVariables: [], paths, concurrentId: 0, concurrentProjectId: 0, shortToken: 't', jobTimeoutSeconds: 1, runnerVersion: { version: 'v', revision: 'r' } };
  const cases = [
    { name: 'disabled', slot: { enabled: false, slot: 1 }, want: undefined },
    { name: 'no slot', slot: { enabled: true, slot: -1 }, want: undefined },
    { name: 'default template', slot: { enabled: true, slot: 1 }, want: 'gitlab-runner/slot-1' },
  ];
  for (const c of cases) {
    const v = buildJobVariables({ ...common, slotCgroup: c.slot }).variables.find((x) => x.key === 'GITLAB_RUNNER_SLOT_CGROUP');
    t.equal(v?.value, c.want, c.name);
  }
});

t.test('prepareJobEnvironment: GIT_CLONE_PATH may use $CI_BUILDS_DIR; GIT_STRATEGY=empty changes the dir', async (t) => {
  const common = { ...base, concurrentId: 0, jobTimeoutSeconds: 60, runnerVersion: { version: 'v', revision: 'r' } };
  const custom = prepareJobEnvironment({ ...common, customBuildDirEnabled: true, jobVariables: [jv('GIT_CLONE_PATH', '$CI_BUILDS_DIR/mine')] });
  t.equal(custom.paths.projectDir, 'builds/mine');
  const empty = prepareJobEnvironment({ ...common, jobVariables: [jv('GIT_STRATEGY', 'empty')] });
  t.equal(empty.paths.projectDir, 'builds/abcdefghi/2/group/sub/proj-empty');
  const bad = prepareJobEnvironment({ ...common, jobVariables: [jv('bad-name', 'x'), jv('FF_SCRIPT_SECTIONS', 'maybe')] });
  t.equal(bad.warnings.length, 2, 'a bad flag value and an unexportable name are reported');
  const traced = prepareJobEnvironment({ ...common, jobVariables: [jv('CI_DEBUG_TRACE', 'true')] });
  t.equal(traced.debugTrace, true, 'CI_DEBUG_TRACE turns shell tracing on');
  t.same(traced.warnings, []);
  const refused = prepareJobEnvironment({ ...common, debugTraceDisabled: true, jobVariables: [jv('CI_DEBUG_TRACE', 'true')] });
  t.equal(refused.debugTrace, false, 'debug_trace_disabled refuses it');
  t.match(refused.warnings.join('\n'), 'CI_DEBUG_TRACE: usage is disabled on this Runner');
  t.equal(prepareJobEnvironment({ ...common, jobVariables: [jv('CI_DEBUG_TRACE', 'no')] }).debugTrace, false);
});

t.test('credentials: redaction and insteadOf rules', async (t) => {
  t.equal(redactUrl('https://gitlab-ci-token:s3cret@gitlab.example.com/ns/p.git'), 'https://[MASKED]@gitlab.example.com/ns/p.git');
  t.equal(redactUrl('https://gitlab.example.com/ns/p.git'), 'https://gitlab.example.com/ns/p.git');
  t.equal(redactUrl('/srv/repo'), '/srv/repo');
  const gitInfo = { repoUrl: 'https://gitlab-ci-token:tok@gitlab.example.com/ns/p.git', ref: 'main', sha: 'x', refspecs: [], depth: 0 };
  t.same(insteadOfs(gitInfo, { serverUrl: 'https://gitlab.example.com/', jobToken: 'tok' }), [
    ['https://gitlab-ci-token:tok@gitlab.example.com/ns/p.git', 'https://gitlab.example.com/ns/p.git'],
    ['https://gitlab-ci-token:tok@gitlab.example.com', 'https://gitlab.example.com'],
  ]);
  t.same(insteadOfs({ ...gitInfo, repoUrl: 'file:///srv/p.git' }, {}), [], 'no rule for a credential-free URL');
});

t.test('shellCommand: one non-login shell reading the script from stdin', async (t) => {
  t.same(shellCommand('bash').argv, ['bash', '-s']);
  t.same(shellCommand('sh').argv, ['sh', '-s']);
  t.throws(() => shellCommand('pwsh' as 'sh'), { code: 'unsupported' });
});
