// File globs as GitLab matches `rules: exists` (Ruby File.fnmatch with FNM_PATHNAME | FNM_DOTMATCH |
// FNM_EXTGLOB): `*` and `?` stay within a path segment and match dot files, `**/` spans directories,
// `{a,b}` alternates, `[...]` is a character class.

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function translate(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      const atStart = i === 0 || p[i - 1] === '/';
      if (atStart && p[i + 2] === '/') {
        out += '(?:[^/]*/)*';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = p.slice(i + 1, end);
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = matchingBrace(p, i);
      if (end < 0) out += '\\{';
      else {
        out += `(?:${splitTop(p.slice(i + 1, end)).map(translate).join('|')})`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < p.length) out += escapeRe(p[++i]!);
    else out += escapeRe(c);
  }
  return out;
}

function matchingBrace(p: string, open: number): number {
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') depth--;
    cur += c;
  }
  parts.push(cur);
  return parts;
}

/** Compiles a glob (relative to the project directory; a leading `/` or `./` is ignored) to a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  const p = pattern.replace(/^\.?\/+/, '');
  return new RegExp(`^${translate(p)}$`);
}

/** True when `pattern` has glob characters. */
export function isGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}
