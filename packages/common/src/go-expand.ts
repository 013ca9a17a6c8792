const SPECIAL = /^[*#$@!?\-0-9]$/;
const NAME_CHAR = /^[A-Za-z0-9_]$/;

/**
 * Replaces `$NAME` and `${NAME}` in `text` with `mapping(NAME)`, exactly as Go's `os.Expand` does (upstream uses
 * it for `url`/`token` in config.toml, for job variables and for `slot_cgroup_template`): a `$` not followed by a
 * name stays, `${}` and an unclosed `${` are dropped (and reported through `onMalformed`), one-character special
 * names (`$$`, `$1`, `$@`, `${*}`, …) are passed to `mapping` as such.
 */
export function expandGo(text: string, mapping: (name: string) => string, onMalformed?: () => void): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$' || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const { name, width } = shellName(text.slice(j + 1));
    if (name === '' && width > 0) onMalformed?.();
    else if (name === '') out += '$';
    else out += mapping(name);
    j += width;
    i = j + 1;
  }
  return out + text.slice(i);
}

/** True for the one-character names Go's `os.Expand` reads after a `$` (`*#$@!?-` and digits). */
export function isGoSpecialVarName(name: string): boolean {
  return SPECIAL.test(name);
}

/** Go's os.getShellName: the name after a `$` and how many characters it took. */
function shellName(s: string): { name: string; width: number } {
  if (s.startsWith('{')) {
    if (s.length > 2 && SPECIAL.test(s[1] ?? '') && s[2] === '}') return { name: s[1] ?? '', width: 3 };
    const close = s.indexOf('}', 1);
    if (close === 1) return { name: '', width: 2 };
    if (close < 0) return { name: '', width: 1 };
    return { name: s.slice(1, close), width: close + 1 };
  }
  if (SPECIAL.test(s[0] ?? '')) return { name: s[0] ?? '', width: 1 };
  let n = 0;
  while (n < s.length && NAME_CHAR.test(s[n] ?? '')) n++;
  return { name: s.slice(0, n), width: n };
}
