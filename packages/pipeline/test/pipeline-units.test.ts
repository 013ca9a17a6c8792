import t from 'tap';
import { parseDuration, projectPathFromRemote, slugify } from '../src/index.js';
import { fnmatchRegExp as globToRegExp } from '@fleetrunner/executor';
import { compositeStatus, type StatusInput } from '../src/composite.js';

t.test('GitLab durations parse to seconds', async (t) => {
  const cases: Array<[string | number, number | undefined]> = [
    ['42', 42],
    [3600, 3600],
    ['42 seconds', 42],
    ['3 mins 4 sec', 184],
    ['2 hrs 20 min', 8400],
    ['2h20min', 8400],
    ['1h 30m', 5400],
    ['3 hours 30 minutes', 12600],
    ['60 minutes', 3600],
    ['one hour', 3600],
    ['3 weeks and 2 days', 21 * 86400 + 2 * 86400],
    ['1 day, 2 hours', 93600],
    ['1:30:00', 5400],
    ['10:00', 600],
    ['6 mos 1 day', 6 * 30 * 86400 + 86400],
    ['', undefined],
    ['soon', undefined],
    ['3 fortnights', undefined],
    ['1h and then some', undefined],
  ];
  for (const [input, seconds] of cases) t.equal(parseDuration(input), seconds, JSON.stringify(input));
});

t.test('globs match like GitLab reads project-file wildcards (fnmatch with PATHNAME, DOTMATCH and EXTGLOB; ** inside a segment spans directories)', async (t) => {
  const cases: Array<[pattern: string, path: string, match: boolean]> = [
    ['Dockerfile', 'Dockerfile', true],
    ['*.md', 'README.md', true],
    ['*.md', 'docs/README.md', false],
    ['**/*.md', 'docs/README.md', true],
    ['**/*.md', 'README.md', true],
    ['docs/**/*', 'docs/a/b/c.txt', true],
    ['*.{rb,py,sh}', 'x.py', true],
    ['*.{rb,py,sh}', 'x.js', false],
    ['*', '.hidden', true],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file10.txt', false],
    ['[ab].txt', 'b.txt', true],
    ['[!ab].txt', 'c.txt', true],
    ['/abs/*.yml', 'abs/x.yml', true],
    ['./rel/*.yml', 'rel/x.yml', true],
    ['docs/**', 'docs/a/b', true],
    ['configs/**.yml', 'configs/a/b.yml', true],
    ['configs/**.yml', 'configs/b.yml', true],
    ['configs/**.yml', 'other/b.yml', false],
    ['a**b/*.txt', 'axyb/c.txt', true],
    ['{src,lib}/**/*.ts', 'lib/x/y.ts', true],
    ['**/.env', '.cfg/.env', true],
  ];
  for (const [pattern, path, match] of cases) t.equal(globToRegExp(pattern).test(path), match, `${pattern} vs ${path}`);
});

t.test('slugs follow CI_COMMIT_REF_SLUG rules', async (t) => {
  t.equal(slugify('feature/Login_Page'), 'feature-login-page');
  t.equal(slugify('--x--'), 'x');
  t.equal(slugify('a'.repeat(70)), 'a'.repeat(63));
  t.equal(slugify(`${'a'.repeat(62)}/b`), 'a'.repeat(62));
});

t.test('project paths come from remote URLs', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['git@gitlab.com:group/sub/project.git', 'group/sub/project'],
    ['https://gitlab.example.com/group/project.git', 'group/project'],
    ['https://gitlab.example.com/group/project', 'group/project'],
    ['ssh://git@gitlab.example.com:2222/group/project.git', 'group/project'],
    ['/srv/repos/project.git', undefined],
    ['file:///srv/group/project.git', undefined],
    ['https://host/project.git', undefined],
  ];
  for (const [url, path] of cases) t.equal(projectPathFromRemote(url), path, url);
});

t.test('composite status follows GitLab', async (t) => {
  const s = (state: StatusInput['state'], allowedToFail = false): StatusInput => ({ state, allowedToFail });
  const cases: Array<[name: string, inputs: StatusInput[], dag: boolean, expected: string]> = [
    ['nothing before: success', [], false, 'success'],
    ['all success', [s('success'), s('success')], false, 'success'],
    ['a failure', [s('success'), s('failed')], false, 'failed'],
    ['an allowed failure is a success', [s('success'), s('failed', true)], false, 'success'],
    ['skipped counts as success in stages', [s('success'), s('skipped')], false, 'success'],
    ['only skipped', [s('skipped')], false, 'skipped'],
    ['skipped need skips a dag job', [s('success'), s('skipped')], true, 'skipped'],
    ['optional manual is ignored in stages', [s('success'), s('manual', true)], false, 'success'],
    ['optional manual skips a dag job', [s('manual', true)], true, 'skipped'],
    ['blocking manual blocks', [s('success'), s('manual')], false, 'manual'],
    ['still running', [s('success'), s('running')], false, 'running'],
    ['waiting for created with a failure', [s('failed'), s('created')], false, 'running'],
    ['canceled', [s('success'), s('canceled')], false, 'canceled'],
  ];
  for (const [name, inputs, dag, expected] of cases) t.equal(compositeStatus(inputs, dag), expected, name);
});
