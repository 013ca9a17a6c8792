import type { ServerResponse } from 'node:http';
import type { Faults, ThrottleRule } from './faults.js';

/** What every `GET /_standin/state` snapshot carries besides the cloud's resources. */
export interface StandinCounters {
  /** Calls received (throttled ones included), by the stand-in's names. */
  calls: Record<string, number>;
  throttled: number;
}

/** `resources` with the {@link StandinCounters} of `faults` and `calls`. */
export function withCounters<T extends object>(resources: T, faults: Faults, calls: ReadonlyMap<string, number>): T & StandinCounters {
  return { ...resources, calls: Object.fromEntries(calls), throttled: faults.throttled };
}

/** The `keys` of `obj`, for a state snapshot. */
export function pick<T extends object, K extends keyof T>(obj: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = obj[k];
  return out;
}

/** The `keys` of `obj` that have a value (not undefined, not empty), for a state snapshot. */
export function present<T extends object, K extends keyof T>(obj: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== '') out[k] = obj[k];
  return out;
}

/** An answer of a control route other than 200. */
export class ControlAnswer {
  constructor(
    readonly status: number,
    readonly value: unknown,
  ) {}
}

/** What a stand-in adds to the control endpoints {@link serveControlApi} serves. */
export interface ControlApi {
  /** The snapshot of `GET /_standin/state`. */
  state(): unknown;
  faults: Faults;
  /**
   * The stand-in's own routes (the path below `/_standin/` split at `/`): the value to answer 200 with, a
   * {@link ControlAnswer}, or undefined when `route` is none of them.
   */
  route(method: string, route: string[], body: Buffer): unknown;
  /** The status of an error a route threw (400 unless the cloud's error says otherwise). */
  errorStatus(err: unknown): number;
  /** URL-decode each path segment. */
  decode?: boolean;
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A request body that must be a JSON object (empty = `{}`). */
export function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const v = JSON.parse(body.toString('utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
  return v as Record<string, unknown>;
}

/** `count` of a `fail-…` request body: a positive integer, default 1. */
export function failureCount(b: Record<string, unknown>): number {
  const n = b.count ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error('count must be a positive integer');
  return n;
}

/**
 * The stand-ins' own endpoints under `/_standin/` (no credentials): `GET state`; `POST throttle` (a throttle rule);
 * `DELETE throttle` (clears the rules); and the stand-in's routes. Errors answer `{"error"}` as JSON.
 */
export function serveControlApi(api: ControlApi, method: string, path: string, body: Buffer, res: ServerResponse): void {
  const segments = path.slice('/_standin/'.length).split('/');
  const route = api.decode ? segments.map(decodeURIComponent) : segments;
  try {
    if (method === 'GET' && route[0] === 'state') return reply(res, 200, api.state());
    if (route[0] === 'throttle' && route.length === 1) {
      if (method === 'POST') api.faults.addThrottle(jsonBody(body) as ThrottleRule);
      else if (method === 'DELETE') api.faults.clear();
      else return reply(res, 405, { error: 'use POST or DELETE' });
      return reply(res, 200, { throttled: api.faults.throttled });
    }
    const answer = api.route(method, route, body);
    if (answer instanceof ControlAnswer) return reply(res, answer.status, answer.value);
    if (answer !== undefined) return reply(res, 200, answer);
    reply(res, 404, { error: `no such stand-in endpoint: ${method} ${path}` });
  } catch (err) {
    reply(res, api.errorStatus(err), { error: err instanceof Error ? err.message : String(err) });
  }
}
