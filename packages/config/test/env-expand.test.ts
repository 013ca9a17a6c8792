import t from 'tap';
import { expandEnv } from '../src/index.js';

t.test('$VAR and ${VAR} expand like Go os.ExpandEnv', async (t) => {
  const env = { HOST: 'gitlab.example.com', TOKEN: 'glrt-abc', EMPTY: '', '1': 'one' };
  const cases: Array<{ name: string; text: string; value: string; missing?: string[]; malformed?: boolean }> = [
    { name: 'bare name', text: 'https://$HOST/', value: 'https://gitlab.example.com/' },
    { name: 'braced name', text: '${TOKEN}', value: 'glrt-abc' },
    { name: 'name ends at a non-name character', text: '$HOST:8080', value: 'gitlab.example.com:8080' },
    { name: 'unset variable becomes empty', text: 'a${NOPE}b', value: 'ab', missing: ['NOPE'] },
    { name: 'set but empty is not missing', text: 'x$EMPTY', value: 'x' },
    { name: 'lone dollar at the end stays', text: 'cost$', value: 'cost$' },
    { name: 'dollar before a non-name stays', text: 'a$/b', value: 'a$/b' },
    { name: 'special single-character names', text: '$1x', value: 'onex' },
    { name: 'unclosed brace is dropped', text: 'a${HOST', value: 'aHOST', malformed: true },
    { name: 'empty braces are dropped', text: 'a${}b', value: 'ab', malformed: true },
    { name: 'no references', text: 'plain', value: 'plain' },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.same(expandEnv(c.text, env), { value: c.value, missing: c.missing ?? [], malformed: c.malformed ?? false });
    });
  }
});
