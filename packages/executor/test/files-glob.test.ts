import t from 'tap';
import { compileGlob, selectPaths } from '../src/files/index.js';

t.test('doublestar patterns as GitLab artifact paths use them', async (t) => {
  const cases: [string, string, boolean][] = [
    ['dist', 'dist/app.js', true],
    ['dist/', 'dist/sub/x', true],
    ['./dist', 'dist/app.js', true],
    ['dist', 'distribution/x', false],
    ['*.log', 'a.log', true],
    ['*.log', 'sub/a.log', false],
    ['**/*.log', 'sub/deep/a.log', true],
    ['**/*.log', 'a.log', true],
    ['out/**/report.xml', 'out/report.xml', true],
    ['out/**/report.xml', 'out/a/b/report.xml', true],
    ['out/*/report.xml', 'out/a/b/report.xml', false],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file10.txt', false],
    ['[ab].txt', 'a.txt', true],
    ['[!ab].txt', 'a.txt', false],
    ['[!ab].txt', 'c.txt', true],
    ['a.b', 'axb', false],
    ['build/**', 'build/x/y', true],
    ['out/{a,b}/x.txt', 'out/a/x.txt', true],
    ['out/{a,b}/x.txt', 'out/b/x.txt', true],
    ['out/{a,b}/x.txt', 'out/c/x.txt', false],
    ['{bin,lib}', 'lib/z.so', true],
    ['*.{js,map}', 'app.map', true],
    ['*', '.hidden', true],
    ['**/*.log', '.cache/a.log', true],
    ['!keep', '!keep', true],
    ['@(a|b)', 'a', false],
  ];
  for (const [pattern, path, want] of cases) t.equal(compileGlob(pattern).match(path), want, `${pattern} ~ ${path}`);
});

t.test('exclude removes matches selected by include', async (t) => {
  const files = ['bin/app', 'bin/app.debug', 'bin/sub/x.debug', 'bin/sub/y', 'src/main.c'];
  t.same(selectPaths(files, ['bin'], ['**/*.debug']), ['bin/app', 'bin/sub/y']);
  t.same(selectPaths(files, ['bin/', 'src/*.c'], ['bin/sub']), ['bin/app', 'bin/app.debug', 'src/main.c']);
});
