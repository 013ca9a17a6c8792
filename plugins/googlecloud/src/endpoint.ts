import { RunnerError } from '@fleetrunner/common';

/** Where the compute clients send requests. */
export interface ComputeEndpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

/** gcloud's endpoint override for Compute Engine, which this plugin honours too. */
export const ENDPOINT_ENV = 'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE';

/**
 * The compute endpoint from gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE` (the variable behind `gcloud config
 * set api_endpoint_overrides/compute URL`), for private endpoints (Private Service Connect, a proxy) and tests;
 * undefined when it is unset (the SDK's default, `compute.googleapis.com`). The URL is `https://HOST[:PORT]/compute/v1/`
 * or `http://…`; the client library puts the `/compute/v1/` path on every request itself, so no other path is
 * accepted.
 */
export function computeEndpoint(env: NodeJS.ProcessEnv): ComputeEndpoint | undefined {
  const raw = env[ENDPOINT_ENV];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RunnerError('invalid_argument', `${ENDPOINT_ENV}: expected a URL like https://compute.example.com/compute/v1/, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RunnerError('invalid_argument', `${ENDPOINT_ENV}: expected an http or https URL, got ${JSON.stringify(raw)}`);
  if (!['/', '/compute/v1', '/compute/v1/'].includes(url.pathname) || url.search !== '' || url.username !== '') {
    throw new RunnerError('invalid_argument', `${ENDPOINT_ENV}: the path must be /compute/v1/ (the client library adds it), got ${JSON.stringify(raw)}`);
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { apiEndpoint: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}
