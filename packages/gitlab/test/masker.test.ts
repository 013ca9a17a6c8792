import t from 'tap';
import { StreamMasker, MASK } from '../src/index.js';

/** Feeds `text` to a fresh masker in the given pieces and returns everything it emitted. */
function run(pieces: readonly string[], phrases: readonly string[], prefixes?: readonly string[]): string {
  const m = new StreamMasker(phrases, prefixes);
  let out = '';
  for (const p of pieces) out += m.write(Buffer.from(p)).toString();
  return out + m.flush().toString();
}

/** Every way to cut `text` into two pieces, and every way into three with the cuts `gap` apart. */
function splits(text: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  for (let i = 1; i < text.length; i++) for (const gap of [1, 2, 3]) if (i + gap < text.length) out.push([text.slice(0, i), text.slice(i, i + gap), text.slice(i + gap)]);
  return out;
}

/** A deterministic PRNG (mulberry32) for chunkings. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('a masked value is replaced wherever the stream is cut', async (t) => {
  const text = 'before S3cr3tValue! after S3cr3tValue!';
  const want = `before ${MASK} after ${MASK}`;
  for (const pieces of splits(text)) {
    t.equal(run(pieces, ['S3cr3tValue!'], []), want, `cut as ${JSON.stringify(pieces)}`);
  }
});

t.test('a token after a known prefix is masked wherever the stream is cut, the prefix stays', async (t) => {
  const text = 'token=glpat-AbC_12.3=x-y and glrt-zzz9 end';
  const want = `token=glpat-${MASK} and glrt-${MASK} end`;
  for (const pieces of splits(text)) {
    t.equal(run(pieces, [], ['glpat-', 'glrt-']), want, `cut as ${JSON.stringify(pieces)}`);
  }
});

t.test('edge cases', async (t) => {
  const cases: { name: string; pieces: string[]; phrases: string[]; prefixes?: string[]; want: string }[] = [
    { name: 'a prefix with no token after it is kept', pieces: ['glpat- x'], phrases: [], prefixes: ['glpat-'], want: 'glpat- x' },
    { name: 'a prefix at the very end of the stream is kept', pieces: ['see glpat-'], phrases: [], prefixes: ['glpat-'], want: 'see glpat-' },
    { name: 'a token at the very end of the stream is masked', pieces: ['x glpat-abc'], phrases: [], prefixes: ['glpat-'], want: `x glpat-${MASK}` },
    { name: 'the longer of two phrases starting together wins', pieces: ['abcdef'], phrases: ['abc', 'abcdef'], want: MASK },
    { name: 'the shorter phrase still masks when the longer does not complete', pieces: ['abcx'], phrases: ['ab', 'abcd'], want: `${MASK}cx` },
    {
      name: 'a longer phrase is not leaked by a shorter one inside it across writes',
      pieces: ['xab', 'cd', 'ef'],
      phrases: ['abcdef', 'cd'],
      want: `x${MASK}`,
    },
    { name: 'an unfinished phrase at the end is emitted as is', pieces: ['value: S3cr'], phrases: ['S3cr3t'], want: 'value: S3cr' },
    { name: 'repeated first byte (aab in aaab)', pieces: ['a', 'a', 'a', 'b'], phrases: ['aab'], want: `a${MASK}` },
    { name: 'multi-byte UTF-8 phrase split inside a character', pieces: ['pass: p\u00e4', 'ss!'], phrases: ['p\u00e4ss!'], want: `pass: ${MASK}` },
    { name: 'empty phrases are ignored', pieces: ['abc'], phrases: [''], want: 'abc' },
  ];
  for (const c of cases) t.equal(run(c.pieces, c.phrases, c.prefixes ?? []), c.want, c.name);
});

t.test('random chunkings give the same output as one write, and never show a secret', async (t) => {
  const secrets = ['hunter2-secret', 'Zq9!Zq9!Zq', 'xyzzy-00'];
  const rnd = prng(42);
  const words = ['log', 'line', '\n', 'glpat-', 'glcbt-ABCdef', ' ', ...secrets, 'hunter2', 'Zq9!', 'xyz'];
  let text = '';
  for (let i = 0; i < 4000; i++) text += words[Math.floor(rnd() * words.length)];
  const whole = run([text], secrets);
  for (const s of secrets) t.notOk(whole.includes(s), `one write hides ${s}`);
  for (let round = 0; round < 50; round++) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; ) {
      const n = 1 + Math.floor(rnd() * 40);
      pieces.push(text.slice(i, i + n));
      i += n;
    }
    const out = run(pieces, secrets);
    if (out !== whole) {
      t.fail(`chunking ${round} differs from one write`);
      return;
    }
  }
  t.pass('50 random chunkings match');
});
