/** One challenge of a `WWW-Authenticate` header: the scheme (lower-cased) and its parameters (keys lower-cased). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;

/**
 * Parses `WWW-Authenticate` (RFC 7235): one or more challenges, each `scheme k=v, k="quoted, value"`. Tolerant of
 * what registries send: unknown shapes yield fewer challenges rather than errors.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < header.length && chars.test(header[i] ?? '')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && TOKEN.test(header[i] ?? '')) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++;
      continue;
    }
    skip(/\s/);
    if (header[i] !== '=') {
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      continue;
    }
    i++;
    skip(/\s/);
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\') i++;
        value += header[i] ?? '';
        i++;
      }
      i++;
    } else {
      const start = i;
      while (i < header.length && header[i] !== ',' && !/\s/.test(header[i] ?? '')) i++;
      value = header.slice(start, i);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
  return out;
}
