import type { ServerResponse } from 'node:http';
import type { Cloud } from './cloud.js';
import { ControlAnswer, jsonBody, pick, present, serveControlApi, withCounters, type Faults, type StandinCounters } from '@fleetrunner/standin-kit';
import type { GroupSpec } from './model.js';
import { ApiError } from './api/errors.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState extends StandinCounters {
  region: string;
  groups: {
    name: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    instances: { id: string; lifecycle: string; health: string; state: string; privateIp?: string; publicIp?: string }[];
  }[];
}

/** The snapshot behind `GET /_standin/state`. */
export function standinState(cloud: Cloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  const groups = [...cloud.groups.values()].map((g) => ({
    ...pick(g, 'name', 'minSize', 'maxSize', 'desiredCapacity'),
    instances: g.instances.map((i) => ({
      ...pick(i, 'id', 'lifecycle', 'health'),
      state: i.ec2State,
      ...(i.ec2State !== 'terminated' ? { privateIp: i.privateIp, ...present(i, 'publicIp') } : {}),
    })),
  }));
  return withCounters({ region: cloud.options.region, groups }, faults, calls);
}

/**
 * The stand-in's own endpoints, under `/_standin/` (no AWS signature): those of the kit ({@link serveControlApi}:
 * `GET state`, `POST`/`DELETE throttle`) and `POST groups` (a group spec: create or replace);
 * `POST instances/<id>/terminate` (out of band); `POST instances/<id>/interrupt` (`{"noticeMs"}`: a spot
 * interruption).
 */
export function serveControl(cloud: Cloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  serveControlApi(
    {
      state: () => standinState(cloud, faults, calls),
      faults,
      errorStatus: (err) => (err instanceof ApiError && err.code.endsWith('NotFound') ? 404 : 400),
      route: (method, route, body) => {
        if (method === 'POST' && route[0] === 'groups' && route.length === 1) return { name: cloud.putGroup(jsonBody(body) as unknown as GroupSpec).name };
        if (method !== 'POST' || route[0] !== 'instances' || route.length !== 3) return undefined;
        const id = route[1]!;
        if (route[2] === 'terminate') cloud.terminateOutOfBand(id);
        else if (route[2] === 'interrupt') {
          const notice = jsonBody(body).noticeMs;
          if (notice !== undefined && (typeof notice !== 'number' || notice < 0)) throw new Error('noticeMs must be a non-negative number');
          cloud.interrupt(id, notice);
        } else return new ControlAnswer(404, { error: `unknown instance action ${route[2]}` });
        return { id };
      },
    },
    method,
    path,
    body,
    res,
  );
}
