/** A `host:port` split the way Go's `net.SplitHostPort` reads it; `port` is undefined when only a host was given. */
export type HostPort = { host: string; port: string | undefined } | { error: string };

/**
 * Splits `host`, `host:port`, `[v6]` or `[v6]:port` strictly, as Go's `net.SplitHostPort` does (plus a bare host):
 * an IPv6 host needs brackets, nothing may follow `]` but `:port`. The port is returned as written; callers check
 * its range. The project's one host:port parser (listen addresses, instance addresses, registry hosts).
 */
export function parseHostPort(text: string): HostPort {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { error: `missing "]" in address ${JSON.stringify(text)}` };
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: `unexpected ${JSON.stringify(rest)} after "]"` };
    return { host: text.slice(1, close), port: rest === '' ? undefined : rest.slice(1) };
  }
  const first = text.indexOf(':');
  if (first < 0) return { host: text, port: undefined };
  if (text.indexOf(':', first + 1) >= 0) return { error: `too many colons in ${JSON.stringify(text)}; write an IPv6 host in brackets, e.g. "[::1]:9252"` };
  return { host: text.slice(0, first), port: text.slice(first + 1) };
}

/**
 * Leniently splits an address a plugin or a peer reported: `host`, `host:port`, `[v6]:port`, `[v6]` or a bare
 * IPv6 address. Anything {@link parseHostPort} rejects, or whose port is not a number, is a host without a port.
 */
export function splitHostPort(addr: string): { host: string; port?: number } {
  const p = parseHostPort(addr);
  if ('error' in p || (p.port !== undefined && !/^\d+$/.test(p.port))) return { host: addr };
  if (p.host === '' && !addr.startsWith('[')) return { host: addr };
  return p.port === undefined ? { host: p.host } : { host: p.host, port: Number(p.port) };
}
