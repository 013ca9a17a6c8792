import t from 'tap';
import { LineTimestamper, TraceBuffer, WORK_STDERR, WORK_STDOUT, RUNNER_STREAM } from '../src/index.js';

const AT = Date.UTC(2026, 0, 2, 3, 4, 5, 67);
const TS = '2026-01-02T03:04:05.067000Z';

function lines(stream = WORK_STDOUT): { ts: LineTimestamper; out: () => string } {
  const chunks: Buffer[] = [];
  const ts = new LineTimestamper(stream, () => AT, (b) => chunks.push(Buffer.from(b)));
  return { ts, out: () => Buffer.concat(chunks).toString() };
}

t.test('complete lines, partial lines held until their newline, close ends the last one', async (t) => {
  const { ts, out } = lines();
  ts.write(Buffer.from('one\ntwo\nthr'));
  t.equal(out(), `${TS} 01O one\n${TS} 01O two\n`, 'a partial line is held');
  ts.write(Buffer.from('ee\nfour'));
  ts.close();
  t.equal(out(), `${TS} 01O one\n${TS} 01O two\n${TS} 01O three\n${TS} 01O four\n`);
});

t.test('a write with a carriage return and no newline is emitted whole; the next line continues it (+)', async (t) => {
  const { ts, out } = lines(RUNNER_STREAM);
  ts.write(Buffer.from('section_end:1:x\r\x1b[0K'));
  ts.write(Buffer.from('next\n'));
  t.equal(out(), `${TS} 00O section_end:1:x\r\x1b[0K\n${TS} 00O+next\n`);
});

t.test('a partial line past 8 KiB is emitted and continued', async (t) => {
  const { ts, out } = lines(WORK_STDERR);
  ts.write(Buffer.alloc(5000, 'a'));
  ts.write(Buffer.alloc(5000, 'b'));
  ts.write(Buffer.from('c\n'));
  t.equal(out(), `${TS} 01E ${'a'.repeat(5000)}${'b'.repeat(5000)}\n${TS} 01E+c\n`);
});

t.test('TraceBuffer with timestamps masks each stream before splitting it into lines', async (t) => {
  const b = new TraceBuffer(1 << 20, { phrases: ['s3cr3t-value'] }, { timestamps: { now: () => AT } });
  b.write('pw=s3cr', WORK_STDOUT);
  b.write('err\n', WORK_STDERR);
  b.write('3t-value\n', WORK_STDOUT);
  b.write('Job succeeded\n');
  b.finish();
  t.equal(b.bytes(0).toString(), `${TS} 01E err\n${TS} 01O pw=[MASKED]\n${TS} 00O Job succeeded\n`);
});
