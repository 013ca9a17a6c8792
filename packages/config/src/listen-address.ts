import { parseHostPort } from '@fleetrunner/common';

/** Port the metrics server uses when `listen_address` names only a host (upstream `DefaultMetricsServerPort`). */
export const DEFAULT_METRICS_PORT = 9252;

/**
 * Checks a `host:port` listen address the way Go's `net.SplitHostPort` reads it, adding the default port when
 * only a host is given (`localhost` → `localhost:9252`, `[::1]` → `[::1]:9252`). '' stays '' (disabled).
 */
export function normalizeListenAddress(text: string): { address: string } | { error: string } {
  if (text === '') return { address: '' };
  const split = parseHostPort(text);
  if ('error' in split) return split;
  const { host, port } = split;
  if (/[\s/]/.test(host)) return { error: `invalid host ${JSON.stringify(host)}` };
  if (port === undefined) return { address: `${text}:${DEFAULT_METRICS_PORT}` };
  if (!/^\d+$/.test(port) || Number(port) > 65535) return { error: `expected a port number 0-65535, got ${JSON.stringify(port)}` };
  return { address: text };
}
