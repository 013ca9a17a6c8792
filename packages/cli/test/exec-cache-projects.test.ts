// `runner exec` keeps one cache per project directory, privately: two directories whose readable names are the same
// slug (`a_b` and `a/b`) do not share a cache. Addresses: 127.82.7.0/28 (this file only).
import t from 'tap';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpDir } from '@fleetrunner/testing';
import { jobLog, runExec, sandbox, writeTree } from './exec-harness.js';

const pipeline = (script: string): string => `fill:
  script:
    - ${script}
  cache:
    key: shared
    paths: [cached/]
`;

t.test('two project directories with the same slug keep their own caches, 0700 directories and 0600 archives', async (t) => {
  const box = sandbox(t, { subnet: '127.82.7.0/28', shell: 'sh', maxInstances: 1 });
  const base = tmpDir(t, { prefix: 'cli-exec-cache' });
  const one = join(base, 'a_b');
  const two = join(base, 'a', 'b');
  mkdirSync(two, { recursive: true });
  writeTree(one, { '.gitlab-ci.yml': pipeline('mkdir -p cached && echo "cache of project one" > cached/who') });
  writeTree(two, { '.gitlab-ci.yml': pipeline('(cat cached/who 2>/dev/null || echo "no cache here") && mkdir -p cached && echo two > cached/who') });
  const first = await runExec(t, box, one, []);
  t.equal(first.code, 0, first.stdout + first.stderr);
  t.match(jobLog(first.stdout, 'fill'), /Created cache/);
  const second = await runExec(t, box, two, []);
  t.equal(second.code, 0, second.stdout + second.stderr);
  const log = jobLog(second.stdout, 'fill');
  t.notMatch(log, /cache of project one/, 'the other project\'s cache is not restored');
  t.match(log, /no cache here/);
  const again = await runExec(t, box, one, []);
  t.match(jobLog(again.stdout, 'fill'), /Successfully extracted cache/, 'a project restores its own cache');

  const root = join(box.dir, 'cache', 'fleetrunner');
  let archives = 0;
  const walk = (d: string): void => {
    t.equal((statSync(d).mode & 0o777).toString(8), '700', `${relative(box.dir, d)} is 0700`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else {
        archives++;
        t.equal((statSync(join(d, e.name)).mode & 0o777).toString(8), '600', `${e.name} is 0600`);
      }
    }
  };
  walk(root);
  t.equal(archives, 2, 'one archive per project');
});
