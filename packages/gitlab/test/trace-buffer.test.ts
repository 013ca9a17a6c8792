import t from 'tap';
import { crc32 } from 'node:zlib';
import { TraceBuffer, limitNotice, MASK } from '../src/index.js';

const hexCrc = (b: Uint8Array): string => `crc32:${(crc32(b) >>> 0).toString(16).padStart(8, '0')}`;

t.test('keeps what was written, with checksum and size', async (t) => {
  const b = new TraceBuffer(1024);
  b.write('hello ');
  b.write(Buffer.from('world\n'));
  b.finish();
  t.equal(b.bytes(0).toString(), 'hello world\n');
  t.equal(b.size, 12);
  t.equal(b.checksum(), hexCrc(Buffer.from('hello world\n')));
  t.equal(b.bytes(6, 3).toString(), 'wor', 'a window of the log');
  t.equal(new TraceBuffer(10).checksum(), 'crc32:00000000', 'an empty log has checksum zero, eight hex digits');
});

t.test('the output limit cuts the log, appends the notice once and drops the rest', async (t) => {
  const b = new TraceBuffer(10);
  b.write('0123456');
  b.write('789abcdef');
  b.write('more output that is dropped');
  b.finish();
  const want = '0123456789' + limitNotice(10);
  t.equal(b.bytes(0).toString(), want);
  t.equal(b.size, Buffer.byteLength(want), 'bytesize counts the notice');
  t.ok(b.exceeded);
  t.match(limitNotice(10), /Job's log exceeded limit of 10 bytes\.\nJob execution will continue but no more output will be collected\./);
  t.equal(b.checksum(), hexCrc(Buffer.from(want)));
});

t.test('the cut never splits a UTF-8 character', async (t) => {
  const b = new TraceBuffer(5);
  b.write('abcd\u00e9f'); // é is 2 bytes at offsets 4–5
  t.equal(b.bytes(0).toString(), 'abcd' + limitNotice(5));
});

t.test('masking happens before the limit and survives a change of masks', async (t) => {
  const b = new TraceBuffer(1024, { phrases: ['topsecret'] });
  b.write('a topsec');
  b.setMasked({ phrases: ['other'] });
  b.write('ret other glrt-abc');
  b.finish();
  t.equal(b.bytes(0).toString(), `a topsecret ${MASK} glrt-${MASK}`, 'held bytes are released unmasked by the old set; glrt- is a default prefix');
});
