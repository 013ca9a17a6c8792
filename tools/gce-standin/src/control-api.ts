import type { ServerResponse } from 'node:http';
import { failureCount, jsonBody, pick, present, serveControlApi, withCounters, type Faults, type StandinCounters } from '@fleetrunner/standin-kit';
import type { GceCloud } from './cloud.js';
import { GceError } from './api/errors.js';
import type { GroupSpec } from './model.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState extends StandinCounters {
  project: string;
  groups: {
    name: string;
    zone: string;
    targetSize: number;
    quota: number;
    instances: { name: string; id: string; currentAction: string; status?: string; privateIp?: string; publicIp?: string; lastAttemptError?: string }[];
  }[];
}

/** The snapshot behind `GET /_standin/state`. */
export function standinState(cloud: GceCloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  const groups = [...cloud.groups.values()].map((g) => ({
    ...pick(g, 'name', 'zone', 'targetSize'),
    quota: g.spec.quota,
    instances: g.instances.map((i) => ({
      ...pick(i, 'name', 'id', 'currentAction'),
      ...present(i, 'status', 'privateIp', 'publicIp'),
      ...(i.lastAttemptError ? { lastAttemptError: `${i.lastAttemptError.code}: ${i.lastAttemptError.message}` } : {}),
    })),
  }));
  return withCounters({ project: cloud.options.project, groups }, faults, calls);
}

/**
 * The stand-in's own endpoints, under `/_standin/` (no credentials): those of the kit ({@link serveControlApi}:
 * `GET state`, `POST throttle` with `status` 429 or 503 and `retryAfterSeconds`, `DELETE throttle`) and
 * `POST groups` (a group spec: create or replace); `POST instances/<zone>/<name>/delete` (deleted out of band: the
 * group recreates it); `POST fail-resize` (`{"count","code","message"}`: the next resize operations end with that
 * error).
 */
export function serveControl(cloud: GceCloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  serveControlApi(
    {
      state: () => standinState(cloud, faults, calls),
      faults,
      errorStatus: (err) => (err instanceof GceError ? err.httpStatus : 400),
      route: (method, route, body) => {
        if (method !== 'POST') return undefined;
        if (route[0] === 'groups' && route.length === 1) {
          const g = cloud.putGroup(jsonBody(body) as unknown as GroupSpec);
          return { name: g.name, zone: g.zone };
        }
        if (route[0] === 'instances' && route.length === 4 && route[3] === 'delete') {
          const inst = cloud.deleteOutOfBand(route[1]!, route[2]!);
          return { name: inst.name, id: inst.id };
        }
        if (route[0] === 'fail-resize' && route.length === 1) {
          const b = jsonBody(body);
          for (let i = failureCount(b); i > 0; i--) cloud.failResizes.push(resizeFailure(b.code, b.message));
          return { pending: cloud.failResizes.length };
        }
        return undefined;
      },
    },
    method,
    path,
    body,
    res,
  );
}

/** The error of a failed resize operation (default: the zone ran out of resources). */
export function resizeFailure(code?: unknown, message?: unknown): { code: string; message: string } {
  return {
    code: typeof code === 'string' && code ? code : 'ZONE_RESOURCE_POOL_EXHAUSTED',
    message: typeof message === 'string' && message ? message : 'The zone does not have enough resources available to fulfill the request. Try a different zone, or try again later.',
  };
}
