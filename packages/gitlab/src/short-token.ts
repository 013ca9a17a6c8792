/** Token prefixes GitLab Runner strips before shortening (helpers/shorten_token.go). */
const PREFIXES = [/^glrt-(t[123]_)?|^t[123]_|^glrtr-/, /^glcbt-/, /^GR[0-9A-Fa-f]{7}/];

/** The short token (first 9 characters after known prefixes): the `runner` metric label, build dir part, state dir. */
export function shortToken(token: string): string {
  let s = token;
  for (const re of PREFIXES) s = s.replace(re, '');
  return s.slice(0, 9);
}

/** The autoscaler key of a runner: URL and ID, or the token when the ID is unknown (provider.go `runnerScalerKey`). */
export function runnerKey(r: { url: string; id: number; token: string }): string {
  return r.id !== 0 ? `${r.url}|${r.id}` : `${r.url}|token:${r.token}`;
}
