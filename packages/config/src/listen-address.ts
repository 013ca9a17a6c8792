/** Port the metrics server uses when `listen_address` names only a host (upstream `DefaultMetricsServerPort`). */
export const DEFAULT_METRICS_PORT = 9252;

/**
 * Checks a `host:port` listen address the way Go's `net.SplitHostPort` reads it, adding the default port when
 * only a host is given (`localhost` → `localhost:9252`, `[::1]` → `[::1]:9252`). '' stays '' (disabled).
 */
export function normalizeListenAddress(text: string): { address: string } | { error: string } {
  if (text === '') return { address: '' };
  let host: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { error: `missing "]" in address ${JSON.stringify(text)}` };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: `unexpected ${JSON.stringify(rest)} after "]"` };
    port = rest === '' ? undefined : rest.slice(1);
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) return { error: `too many colons in ${JSON.stringify(text)}; write an IPv6 host in brackets, e.g. "[::1]:9252"` };
    [host = '', port] = text.split(':');
  }
  if (/[\s/]/.test(host)) return { error: `invalid host ${JSON.stringify(host)}` };
  if (port === undefined) return { address: `${text}:${DEFAULT_METRICS_PORT}` };
  if (!/^\d+$/.test(port) || Number(port) > 65535) return { error: `expected a port number 0-65535, got ${JSON.stringify(port)}` };
  return { address: text };
}
