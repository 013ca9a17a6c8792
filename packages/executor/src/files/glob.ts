import picomatch from 'picomatch';

/**
 * GitLab artifact/cache path patterns (GitLab Runner matches them with doublestar) against relative slash paths,
 * through `picomatch` with doublestar's rules: `*` and `?` stay within one path segment and match dot files too,
 * `**` spans segments, `[abc]`/`[!a-z]` are classes, `{a,b}` alternates; no extglobs and no `!` negation (a
 * leading `!` is a literal character, as in doublestar). On top of that, a pattern that names a directory
 * selects everything below it.
 */
export interface PathMatcher {
  /** True when `path` (relative, `/`-separated, no leading `./`) is selected. */
  match(path: string): boolean;
}

// `posix` is what makes `[!…]` a negated class, as in doublestar.
const OPTIONS: picomatch.PicomatchOptions = { dot: true, noextglob: true, nonegate: true, posix: true, windows: false };

/** Normalises a user pattern: strips `./`, leading `/`, trailing `/`, collapses duplicate slashes. */
export function normalizePattern(p: string): string {
  return p.replace(/\\/g, '/').replace(/\/+/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Compiles one pattern; the match also accepts anything below a matched directory. */
export function compileGlob(pattern: string): PathMatcher {
  const norm = normalizePattern(pattern);
  if (norm === '' || norm === '.') return { match: () => true };
  const test = picomatch(norm, OPTIONS);
  return {
    match(path) {
      if (test(path)) return true;
      for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) if (test(path.slice(0, i))) return true;
      return false;
    },
  };
}

/** True when the whole of `value` matches `pattern` by doublestar's rules (e.g. `allowed_images` against an image name). */
export function globMatches(pattern: string, value: string): boolean {
  return picomatch(pattern, OPTIONS)(value);
}

/** Selects paths matching any of `include` and none of `exclude`. */
export function selectPaths(paths: Iterable<string>, include: readonly string[], exclude: readonly string[] = []): string[] {
  const inc = include.map(compileGlob);
  const exc = exclude.map(compileGlob);
  const out: string[] = [];
  for (const p of paths) {
    if (inc.some((m) => m.match(p)) && !exc.some((m) => m.match(p))) out.push(p);
  }
  return out;
}

// GitLab's project-file wildcards (`rules: exists`, `include: local`; File.fnmatch with FNM_PATHNAME | FNM_DOTMATCH |
// FNM_EXTGLOB): as above, but a pattern selects only the paths it names (no "everything below a directory"), and a
// `**` inside a segment spans directories too (`configs/**.yml` is every .yml below configs, GitLab's docs).
const FNMATCH_OPTIONS: picomatch.PicomatchOptions = { ...OPTIONS };

/**
 * A project-file wildcard (relative to the project directory; a leading `/` or `./` is ignored) as a RegExp, on
 * `picomatch` like {@link compileGlob}.
 */
export function fnmatchRegExp(pattern: string): RegExp {
  const p = pattern.replace(/^\.?\/+/, '').replace(/\*\*+/g, (stars: string, at: number, all: string) => {
    const after = all[at + stars.length];
    const whole = (at === 0 || all[at - 1] === '/') && (after === '/' || after === undefined);
    return whole ? '**' : '{*,*/**/*}';
  });
  return picomatch.makeRe(p, FNMATCH_OPTIONS);
}

/** True when `pattern` has glob characters (`*`, `?`, `[`, `{`). */
export function isGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}
