/** Variables for `$VAR` expansion; `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The result of expanding `$VAR` / `${VAR}` references. */
export interface Expansion {
  value: string;
  /** Names that were referenced but not set (they expanded to ''). */
  missing: string[];
  /** True when the text held a malformed reference such as `${` without `}` (Go drops those characters). */
  malformed: boolean;
}

const SPECIAL = /[*#$@!?\-0-9]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * Expands `$VAR` and `${VAR}` the way Go's `os.ExpandEnv` does (GitLab Runner applies it to `url` and `token`):
 * unset variables become '', a `$` not followed by a name stays, `$1`/`$$`-style single special characters are
 * names of their own.
 */
export function expandEnv(text: string, env: Env): Expansion {
  let value = '';
  const missing: string[] = [];
  let malformed = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch !== '$' || i + 1 >= text.length) {
      value += ch;
      i++;
      continue;
    }
    const { name, width } = shellName(text.slice(i + 1));
    if (name === '' && width > 0) {
      malformed = true;
    } else if (name === '') {
      value += '$';
    } else {
      const v = env[name];
      if (v === undefined) missing.push(name);
      value += v ?? '';
    }
    i += 1 + width;
  }
  return { value, missing, malformed };
}

/** Mirrors Go's os.getShellName: the name after a `$` and how many characters it took. */
function shellName(s: string): { name: string; width: number } {
  if (s.startsWith('{')) {
    if (s.length > 2 && SPECIAL.test(s[1] as string) && s[2] === '}') return { name: s[1] as string, width: 3 };
    const close = s.indexOf('}');
    if (close === 1) return { name: '', width: 2 };
    if (close < 0) return { name: '', width: 1 };
    return { name: s.slice(1, close), width: close + 1 };
  }
  if (SPECIAL.test(s[0] ?? '')) return { name: s[0] as string, width: 1 };
  let n = 0;
  while (n < s.length && NAME_CHAR.test(s[n] as string)) n++;
  return { name: s.slice(0, n), width: n };
}
