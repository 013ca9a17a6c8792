import t from 'tap';
import { LiveLog } from '../src/exec/live-log.js';
import { jobLog } from './exec-harness.js';

t.test('one job alone streams raw lines under its header; several at once are prefixed; jobLog reads either back', async (t) => {
  const lines: string[] = [];
  const live = new LiveLog((l) => lines.push(l));
  live.write('build', Buffer.from('first line\nsecond '));
  t.same(lines, ['━━━ build ' + '━'.repeat(55), 'first line'], 'a line goes out as soon as it is whole');
  live.write('build', Buffer.from('half\n'));
  live.write('test 1/2', Buffer.from('section_start:1:step_script\r\x1b[0K\x1b[36;1mExecuting\x1b[0;m\n'));
  live.write('build', Buffer.from('third\n'));
  // A multi-byte character split across chunks is not mangled.
  const euro = Buffer.from('€ sign\n');
  live.write('test 1/2', euro.subarray(0, 1));
  live.write('test 1/2', euro.subarray(1));
  live.end('build', '━━━ build (success) ━━━');
  live.write('test 1/2', Buffer.from('alone again\nno newline'));
  live.end('test 1/2', '━━━ test 1/2 (failed) ━━━');
  t.same(lines.slice(1), [
    'first line',
    'second half',
    'section_start:1:step_script\r\x1b[0Ktest 1/2 │ \x1b[36;1mExecuting\x1b[0;m',
    'build │ third',
    'test 1/2 │ € sign',
    '━━━ build (success) ━━━',
    '━━━ test 1/2 ' + '━'.repeat(52),
    'alone again',
    'no newline',
    '━━━ test 1/2 (failed) ━━━',
  ]);
  const stdout = lines.join('\n');
  t.equal(jobLog(stdout, 'build'), ['first line', 'second half', 'third', '━━━ build (success) ━━━'].join('\n'));
  t.equal(jobLog(stdout, 'test 1/2'), ['section_start:1:step_script\r\x1b[0K\x1b[36;1mExecuting\x1b[0;m', '€ sign', 'alone again', 'no newline', '━━━ test 1/2 (failed) ━━━'].join('\n'));
});
