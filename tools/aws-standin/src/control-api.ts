import type { ServerResponse } from 'node:http';
import type { Cloud } from './cloud.js';
import type { Faults, ThrottleRule } from '@fleetrunner/standin-kit';
import type { GroupSpec } from './model.js';
import { ApiError } from './api/errors.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState {
  region: string;
  groups: {
    name: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    instances: { id: string; lifecycle: string; health: string; state: string; privateIp?: string; publicIp?: string }[];
  }[];
  /** Calls received (throttled ones included), by `<service>:<action>`. */
  calls: Record<string, number>;
  throttled: number;
}

/** The snapshot behind `GET /_standin/state`. */
export function standinState(cloud: Cloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  return {
    region: cloud.options.region,
    groups: [...cloud.groups.values()].map((g) => ({
      name: g.name,
      minSize: g.minSize,
      maxSize: g.maxSize,
      desiredCapacity: g.desiredCapacity,
      instances: g.instances.map((i) => ({
        id: i.id,
        lifecycle: i.lifecycle,
        health: i.health,
        state: i.ec2State,
        ...(i.ec2State !== 'terminated' ? { privateIp: i.privateIp, ...(i.publicIp ? { publicIp: i.publicIp } : {}) } : {}),
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
 * The stand-in's own endpoints, under `/_standin/` (no AWS signature):
 * `GET state`; `POST groups` (a group spec: create or replace); `POST instances/<id>/terminate` (out of band);
 * `POST instances/<id>/interrupt` (`{"noticeMs"}`: a spot interruption); `POST throttle` (a throttle rule);
 * `DELETE throttle` (clears the rules).
 */
export function serveControl(cloud: Cloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  const route = path.slice('/_standin/'.length).split('/');
  try {
    if (method === 'GET' && route[0] === 'state') return reply(res, 200, standinState(cloud, faults, calls));
    if (method === 'POST' && route[0] === 'groups' && route.length === 1) {
      const g = cloud.putGroup(jsonBody(body) as unknown as GroupSpec);
      return reply(res, 200, { name: g.name });
    }
    if (method === 'POST' && route[0] === 'instances' && route.length === 3) {
      const id = route[1]!;
      if (route[2] === 'terminate') cloud.terminateOutOfBand(id);
      else if (route[2] === 'interrupt') {
        const notice = jsonBody(body).noticeMs;
        if (notice !== undefined && (typeof notice !== 'number' || notice < 0)) throw new Error('noticeMs must be a non-negative number');
        cloud.interrupt(id, notice);
      } else return reply(res, 404, { error: `unknown instance action ${route[2]}` });
      return reply(res, 200, { id });
    }
    if (route[0] === 'throttle' && route.length === 1) {
      if (method === 'POST') faults.addThrottle(jsonBody(body) as ThrottleRule);
      else if (method === 'DELETE') faults.clear();
      else return reply(res, 405, { error: 'use POST or DELETE' });
      return reply(res, 200, { throttled: faults.throttled });
    }
    reply(res, 404, { error: `no such stand-in endpoint: ${method} ${path}` });
  } catch (err) {
    reply(res, err instanceof ApiError && err.code.endsWith('NotFound') ? 404 : 400, { error: err instanceof Error ? err.message : String(err) });
  }
}
