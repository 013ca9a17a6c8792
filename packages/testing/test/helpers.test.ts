import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hasCode } from '@fleetrunner/common';
import { tmpDir, waitFor } from '../src/index.js';

t.test('tmpDir is removed at teardown, contents and all', async (t) => {
  let dir = '';
  await t.test('inner', async (t) => {
    dir = tmpDir(t);
    writeFileSync(join(dir, 'f'), 'x');
    t.ok(existsSync(join(dir, 'f')));
  });
  t.notOk(existsSync(dir), 'gone after the subtest ended');
});

t.test('waitFor returns the first truthy value', async (t) => {
  let n = 0;
  const v = await waitFor(() => (++n >= 3 ? `done after ${n}` : undefined), { what: 'three polls', intervalMs: 1 });
  t.equal(v, 'done after 3');
});

t.test('waitFor times out with a message naming what it waited for and the last error', async (t) => {
  const err = await waitFor(
    () => {
      throw new Error('not yet');
    },
    { what: 'the impossible', timeoutMs: 30, intervalMs: 5 },
  ).catch((e: unknown) => e);
  t.ok(hasCode(err, 'timeout'));
  t.match((err as Error).message, /timed out after 30 ms waiting for the impossible; last error: not yet/);
});
