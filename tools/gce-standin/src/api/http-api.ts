import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@fleetrunner/common';
import type { Faults, ThrottleRule } from '@fleetrunner/standin-kit';
import { authenticate, type ServiceAccount } from '../auth.js';
import { API_BASE, type GceCloud } from '../cloud.js';
import { GceError, invalid, notFound } from './errors.js';
import { groupJson, instanceJson, managedInstanceJson, operationJson } from './resources.js';

/** What the Compute API handler needs. */
export interface ApiContext {
  cloud: GceCloud;
  faults: Faults;
  accounts: readonly ServiceAccount[];
  /** Opaque bearer tokens accepted besides service-account JWTs (the metadata server adds the ones it issues). */
  tokens: Set<string>;
  /** Calls served, by `compute:<method>` (e.g. `compute:instanceGroupManagers.resize`). */
  calls: Map<string, number>;
  /** Longest time zoneOperations.wait blocks before answering with a RUNNING operation. */
  waitMs: number;
  logger: Logger;
}

/** One routed request: the API method (`instanceGroupManagers.get`…) and its path parameters. */
interface Route {
  method: string;
  zone: string;
  resource: string;
}

const PATH = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instanceGroupManagers|instances|operations)\/([^/]+)(?:\/([A-Za-z]+))?$/;

const METHODS: Record<string, Record<string, string>> = {
  instanceGroupManagers: { 'GET ': 'get', 'POST resize': 'resize', 'POST deleteInstances': 'deleteInstances', 'POST listManagedInstances': 'listManagedInstances' },
  instances: { 'GET ': 'get', 'DELETE ': 'delete', 'POST setMetadata': 'setMetadata' },
  operations: { 'GET ': 'get', 'POST wait': 'wait' },
};

function route(ctx: ApiContext, httpMethod: string, url: URL): Route {
  const m = PATH.exec(url.pathname);
  if (!m) throw new GceError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`, 'NOT_FOUND');
  const [, project, zone, collection, resource, verb] = m as unknown as [string, string, string, string, string, string | undefined];
  const method = METHODS[collection]![`${httpMethod} ${verb ?? ''}`];
  if (!method) throw new GceError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server (method ${httpMethod}).`, 'NOT_FOUND');
  if (project !== ctx.cloud.options.project) throw notFound(`projects/${project}`);
  return { method: `${collection === 'operations' ? 'zoneOperations' : collection}.${method}`, zone: decodeURIComponent(zone), resource: decodeURIComponent(resource) };
}

function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('Invalid JSON payload received.');
  }
  if (v === '' || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid JSON payload received. Expected an object.');
  return v as Record<string, unknown>;
}

function throttled(rule: ThrottleRule): GceError {
  if (rule.status === 503) {
    return new GceError(503, 'backendError', 'Internal error. Please try again or contact Google Support. (Code: \'-1234567890\')', 'UNAVAILABLE', rule.retryAfterSeconds);
  }
  return new GceError(
    rule.status ?? 429,
    'rateLimitExceeded',
    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'compute.googleapis.com'.",
    'RESOURCE_EXHAUSTED',
    rule.retryAfterSeconds,
  );
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), vary: 'Origin, X-Origin, Referer', ...headers });
  res.end(text);
}

async function call(ctx: ApiContext, r: Route, url: URL, body: Buffer, signal: AbortSignal): Promise<unknown> {
  const { cloud } = ctx;
  switch (r.method) {
    case 'instanceGroupManagers.get':
      return groupJson(cloud, cloud.group(r.zone, r.resource));
    case 'instanceGroupManagers.resize': {
      const size = url.searchParams.get('size');
      if (size === null || !/^-?\d+$/.test(size)) throw invalid("Invalid value for field 'size': ''. Required field 'size' not specified");
      return operationJson(cloud, cloud.resize(r.zone, r.resource, Number(size)));
    }
    case 'instanceGroupManagers.deleteInstances': {
      const b = jsonBody(body);
      const list = Array.isArray(b.instances) ? b.instances.filter((x): x is string => typeof x === 'string') : [];
      if (list.length === 0) throw invalid("Invalid value for field 'resource.instances': ''. At least one instance is required");
      return operationJson(cloud, cloud.deleteInstances(r.zone, r.resource, list, b.skipInstancesOnValidationError === true));
    }
    case 'instanceGroupManagers.listManagedInstances': {
      const g = cloud.group(r.zone, r.resource);
      const all = g.instances.map((i) => managedInstanceJson(cloud, g, i));
      if (g.spec.listManagedInstancesResults !== 'PAGINATED') return { managedInstances: all };
      const max = Math.min(500, Math.max(1, Number(url.searchParams.get('maxResults') ?? 500) || 500));
      const token = url.searchParams.get('pageToken');
      const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(start) || start < 0) throw invalid(`Invalid value for field 'pageToken': '${token}'.`);
      const page = all.slice(start, start + max);
      return { managedInstances: page, ...(start + max < all.length ? { nextPageToken: Buffer.from(String(start + max)).toString('base64url') } : {}) };
    }
    case 'instances.get':
      return instanceJson(cloud, cloud.instance(r.zone, r.resource));
    case 'instances.delete': {
      // Deleting a member directly (console, gcloud): the group recreates it under the same name.
      const inst = cloud.instance(r.zone, r.resource);
      const oldId = inst.id;
      cloud.deleteOutOfBand(r.zone, r.resource);
      return operationJson(cloud, cloud.operation(r.zone, 'delete', `${API_BASE}${cloud.instancePath(r.zone, r.resource)}`, oldId));
    }
    case 'instances.setMetadata':
      return operationJson(cloud, cloud.setMetadata(r.zone, r.resource, jsonBody(body)));
    case 'zoneOperations.get':
      return operationJson(cloud, cloud.findOperation(r.zone, r.resource));
    case 'zoneOperations.wait': {
      const op = cloud.findOperation(r.zone, r.resource);
      const deadline = cloud.options.clock.now() + ctx.waitMs;
      while (op.status !== 'DONE' && !signal.aborted) {
        const left = deadline - cloud.options.clock.now();
        if (left <= 0) break;
        await cloud.waitForChange(left, signal);
      }
      return operationJson(cloud, op);
    }
    default:
      throw new GceError(404, 'notFound', `no such method ${r.method}`, 'NOT_FOUND');
  }
}

/** Serves one Compute Engine REST request (JSON in and out; errors in GCE's shape with the same HTTP status). */
export function serveApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  let r: Route | undefined;
  void (async () => {
    try {
      r = route(ctx, req.method ?? 'GET', url);
      authenticate(req.headers.authorization, ctx.accounts, ctx.tokens, ctx.cloud.options.clock.now());
      const key = `compute:${r.method}`;
      ctx.calls.set(key, (ctx.calls.get(key) ?? 0) + 1);
      const rule = ctx.faults.match('compute', r.method);
      if (rule) throw throttled(rule);
      const out = await call(ctx, r, url, body, closed.signal);
      send(res, 200, out);
      ctx.logger.debug('api call', { method: r.method, status: 200 });
    } catch (err) {
      const e = err instanceof GceError ? err : new GceError(500, 'backendError', `Internal error: ${err instanceof Error ? err.message : String(err)}`, 'INTERNAL');
      if (!(err instanceof GceError)) ctx.logger.error('api call failed', { error: e.message });
      ctx.logger.debug('api call', { method: r?.method, status: e.httpStatus, reason: e.reason });
      send(res, e.httpStatus, e.body(), e.retryAfterSeconds !== undefined ? { 'retry-after': String(e.retryAfterSeconds) } : {});
    }
  })();
}
