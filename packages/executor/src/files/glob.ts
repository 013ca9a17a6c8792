/**
 * GitLab artifact/cache path patterns (doublestar globs) matched against relative slash paths:
 * `*` and `?` stay within one path segment, `**` spans segments, `[abc]`/`[!a-z]` are classes. A pattern that names a
 * directory selects everything below it.
 */
export interface PathMatcher {
  /** True when `path` (relative, `/`-separated, no leading `./`) is selected. */
  match(path: string): boolean;
}

function segmentRegex(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let cls = seg.slice(i + 1, end);
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      out += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < seg.length) {
      out += escapeRe(seg[++i]!);
    } else out += escapeRe(c);
  }
  return out;
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}

/** Normalises a user pattern: strips `./`, leading `/`, trailing `/`, collapses duplicate slashes. */
export function normalizePattern(p: string): string {
  return p.replace(/\\/g, '/').replace(/\/+/g, '/').replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Compiles one pattern; the match also accepts anything below a matched directory. */
export function compileGlob(pattern: string): PathMatcher {
  const norm = normalizePattern(pattern);
  if (norm === '' || norm === '.') return { match: () => true };
  const segs = norm.split('/');
  let re = '';
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (seg === '**') re += last ? '.*' : '(?:[^/]+/)*';
    else re += segmentRegex(seg) + (last ? '' : '/');
  });
  const rx = new RegExp(`^${re}(?:/.*)?$`);
  return { match: (path) => rx.test(path) };
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
