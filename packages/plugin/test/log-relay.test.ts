import t from 'tap';
import { LineSplitter, StderrInterpreter, StderrRelay, StdoutCapture, createHclogLogger, hclogTimestamp } from '../src/index.js';
import { recordingLogger } from './helpers.js';

t.test('interprets stderr lines like a go-plugin host', async (t) => {
  const ts = '2026-01-02T03:04:05.123456Z';
  const cases: { name: string; line: string; level: string; message: string; fields?: Record<string, unknown> }[] = [
    {
      name: 'hclog json',
      line: JSON.stringify({ '@level': 'warn', '@message': 'quota low', '@timestamp': ts, '@module': 'aws', region: 'eu' }),
      level: 'warn',
      message: 'quota low',
      fields: { '@module': 'aws', region: 'eu', timestamp: ts },
    },
    { name: 'hclog json with offset', line: JSON.stringify({ '@level': 'error', '@message': 'x', '@timestamp': '2026-01-02T03:04:05.123456+02:00' }), level: 'error', message: 'x' },
    { name: 'hclog json without timestamp', line: '{"@level":"trace","@message":"fine"}', level: 'trace', message: 'fine' },
    {
      name: '3 fractional digits: plain text',
      line: '{"@level":"error","@message":"m","@timestamp":"2026-01-02T03:04:05.123Z"}',
      level: 'debug',
      message: '{"@level":"error","@message":"m","@timestamp":"2026-01-02T03:04:05.123Z"}',
    },
    { name: 'json without @level: verbatim at debug', line: '{"a":1}', level: 'debug', message: '{"a":1}' },
    { name: 'broken json', line: '{"@level":', level: 'debug', message: '{"@level":' },
    { name: '[TRACE]', line: '[TRACE] t', level: 'trace', message: '[TRACE] t' },
    { name: '[DEBUG]', line: '[DEBUG] d', level: 'debug', message: '[DEBUG] d' },
    { name: '[INFO]', line: '[INFO] i', level: 'info', message: '[INFO] i' },
    { name: '[WARN]', line: '[WARN] w', level: 'warn', message: '[WARN] w' },
    { name: '[ERROR]', line: '[ERROR] e', level: 'error', message: '[ERROR] e' },
    { name: 'untagged', line: 'something', level: 'debug', message: 'something' },
  ];
  for (const c of cases) {
    const got = new StderrInterpreter().interpret(c.line);
    t.equal(got.level, c.level, `${c.name}: level`);
    t.equal(got.message, c.message, `${c.name}: message`);
    if (c.fields) t.same(got.fields, c.fields, `${c.name}: fields`);
  }
});

t.test('panic mode: after panic: or fatal error:, untagged lines are errors', async (t) => {
  for (const first of ['panic: runtime error: index out of range', 'fatal error: concurrent map writes']) {
    const i = new StderrInterpreter();
    t.equal(i.interpret('before').level, 'debug');
    t.equal(i.interpret(first).level, 'error');
    t.equal(i.interpret('goroutine 1 [running]:').level, 'error');
    t.equal(i.interpret('[INFO] tagged stays tagged').level, 'info');
  }
});

t.test('the relay splits chunks into lines, logs them and keeps the last ones', async (t) => {
  const rec = recordingLogger();
  const relay = new StderrRelay(rec.logger, 2);
  relay.push('[INFO] one\n[WA');
  relay.push('RN] two\n\nthree');
  relay.end();
  t.same(
    rec.entries.map((e) => [e.level, e.msg]),
    [
      ['info', '[INFO] one'],
      ['warn', '[WARN] two'],
      ['debug', 'three'],
    ],
  );
  t.same(relay.lastLines(), ['[WARN] two', 'three']);
});

t.test('over-long lines come out in fragments', async (t) => {
  const got: [string, boolean][] = [];
  const s = new LineSplitter((l, f) => got.push([l, f]), 4);
  s.push('abcdefghij\nxy\n');
  s.end();
  t.same(got, [
    ['abcd', true],
    ['efgh', true],
    ['ij', true],
    ['xy', false],
  ]);
});

t.test('the plugin logger writes hclog JSON that a host parses back', async (t) => {
  t.equal(hclogTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), '2026-01-02T03:04:05.678000Z');
  let out = '';
  const logger = createHclogLogger({ module: 'aws', out: { write: (s: string) => (out += s) } }).child({ group: 'g' });
  logger.info('created', { count: 2, err: new Error('e') });
  const line = out.trimEnd();
  t.notOk(line.includes('\n'), 'one line');
  const obj = JSON.parse(line) as Record<string, unknown>;
  t.match(obj, { '@level': 'info', '@message': 'created', '@module': 'aws', group: 'g', count: 2, err: 'e' });
  t.match(String(obj['@timestamp']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  const back = new StderrInterpreter().interpret(line);
  t.equal(back.level, 'info');
  t.equal(back.message, 'created');
  t.equal(back.fields.count, 2);
});

t.test('stdout capture buffers boundedly until a subscriber comes, then streams in 1 KiB chunks', async (t) => {
  const cap = new StdoutCapture(10);
  cap.install();
  let restored = false;
  t.teardown(() => {
    if (!restored) cap.uninstall();
  });
  process.stdout.write('0123456789abcdef');
  let called = false;
  process.stdout.write('XYZ', () => (called = true));
  cap.uninstall();
  restored = true;
  t.equal(cap.pendingBytes, 10);
  const chunks: string[] = [];
  const unsubscribe = cap.subscribe((c) => chunks.push(c.toString()));
  t.same(chunks.join(''), 'abcdefXYZ'.slice(-10).padStart(10, '9'), 'oldest bytes dropped');
  cap.install();
  process.stdout.write('x'.repeat(2500));
  cap.uninstall();
  unsubscribe();
  t.same(chunks.slice(-3).map((c) => c.length), [1024, 1024, 452]);
  await new Promise((r) => setImmediate(r));
  t.ok(called, 'write callbacks are called');
});
