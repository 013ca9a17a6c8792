import type { ServerResponse } from 'node:http';
import type { Faults, ThrottleRule } from '@fleetrunner/standin-kit';
import type { GceCloud } from './cloud.js';
import { GceError } from './api/errors.js';
import type { GroupSpec } from './model.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState {
  project: string;
  groups: {
    name: string;
    zone: string;
    targetSize: number;
    quota: number;
    instances: { name: string; id: string; currentAction: string; status?: string; privateIp?: string; publicIp?: string; lastAttemptError?: string }[];
  }[];
  /** Calls received (throttled ones included), by `compute:<method>`. */
  calls: Record<string, number>;
  throttled: number;
}

/** The snapshot behind `GET /_standin/state`. */
export function standinState(cloud: GceCloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  return {
    project: cloud.options.project,
    groups: [...cloud.groups.values()].map((g) => ({
      name: g.name,
      zone: g.zone,
      targetSize: g.targetSize,
      quota: g.spec.quota,
      instances: g.instances.map((i) => ({
        name: i.name,
        id: i.id,
        currentAction: i.currentAction,
        ...(i.status ? { status: i.status } : {}),
        ...(i.privateIp ? { privateIp: i.privateIp } : {}),
        ...(i.publicIp ? { publicIp: i.publicIp } : {}),
        ...(i.lastAttemptError ? { lastAttemptError: `${i.lastAttemptError.code}: ${i.lastAttemptError.message}` } : {}),
      })),
    })),
    calls: Object.fromEntries(calls),
    throttled: faults.throttled,
  };
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const v = JSON.parse(body.toString('utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
  return v as Record<string, unknown>;
}

/**
 * The stand-in's own endpoints, under `/_standin/` (no credentials):
 * `GET state`; `POST groups` (a group spec: create or replace); `POST instances/<zone>/<name>/delete` (deleted out
 * of band: the group recreates it); `POST throttle` (a throttle rule, with `status` 429 or 503 and
 * `retryAfterSeconds`); `DELETE throttle`; `POST fail-resize` (`{"count","code","message"}`: the next resize
 * operations end with that error).
 */
export function serveControl(cloud: GceCloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  const route = path.slice('/_standin/'.length).split('/');
  try {
    if (method === 'GET' && route[0] === 'state') return reply(res, 200, standinState(cloud, faults, calls));
    if (method === 'POST' && route[0] === 'groups' && route.length === 1) {
      const g = cloud.putGroup(jsonBody(body) as unknown as GroupSpec);
      return reply(res, 200, { name: g.name, zone: g.zone });
    }
    if (method === 'POST' && route[0] === 'instances' && route.length === 4 && route[3] === 'delete') {
      const inst = cloud.deleteOutOfBand(route[1]!, route[2]!);
      return reply(res, 200, { name: inst.name, id: inst.id });
    }
    if (route[0] === 'throttle' && route.length === 1) {
      if (method === 'POST') faults.addThrottle(jsonBody(body) as ThrottleRule);
      else if (method === 'DELETE') faults.clear();
      else return reply(res, 405, { error: 'use POST or DELETE' });
      return reply(res, 200, { throttled: faults.throttled });
    }
    if (method === 'POST' && route[0] === 'fail-resize' && route.length === 1) {
      const b = jsonBody(body);
      const n = b.count ?? 1;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error('count must be a positive integer');
      for (let i = 0; i < n; i++) cloud.failResizes.push(resizeFailure(b.code, b.message));
      return reply(res, 200, { pending: cloud.failResizes.length });
    }
    reply(res, 404, { error: `no such stand-in endpoint: ${method} ${path}` });
  } catch (err) {
    reply(res, err instanceof GceError ? err.httpStatus : 400, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The error of a failed resize operation (default: the zone ran out of resources). */
export function resizeFailure(code?: unknown, message?: unknown): { code: string; message: string } {
  return {
    code: typeof code === 'string' && code ? code : 'ZONE_RESOURCE_POOL_EXHAUSTED',
    message: typeof message === 'string' && message ? message : 'The zone does not have enough resources available to fulfill the request. Try a different zone, or try again later.',
  };
}
