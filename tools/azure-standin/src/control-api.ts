import type { ServerResponse } from 'node:http';
import { failureCount, jsonBody, pick, present, serveControlApi, withCounters, type Faults, type StandinCounters } from '@fleetrunner/standin-kit';
import { allocationFailure, type AzureCloud } from './cloud.js';
import { ArmError } from './api/errors.js';
import type { ScaleSetSpec } from './model.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState extends StandinCounters {
  subscriptionId: string;
  scaleSets: {
    name: string;
    resourceGroup: string;
    capacity: number;
    quota: number;
    vms: { instanceId: string; name: string; provisioningState: string; power: string; privateIp?: string; publicIp?: string }[];
  }[];
}

export function standinState(cloud: AzureCloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  const scaleSets = [...cloud.scaleSets.values()].map((ss) => ({
    ...pick(ss, 'name', 'resourceGroup', 'capacity'),
    quota: ss.spec.quota,
    vms: ss.vms.map((v) => ({ ...pick(v, 'instanceId', 'name', 'provisioningState', 'power'), ...present(v, 'privateIp', 'publicIp') })),
  }));
  return withCounters({ subscriptionId: cloud.options.subscriptionId, scaleSets }, faults, calls);
}

/**
 * The stand-in's own endpoints, under `/_standin/` (no credentials): those of the kit ({@link serveControlApi}:
 * `GET state`, `POST throttle` with `status` 429 or 503 and `retryAfterSeconds`, `DELETE throttle`) and
 * `POST scale-sets` (a scale set spec: create or replace); `POST vms/<resource group>/<scale set>/<instance id>/delete`
 * (deleted out of band); `POST fail-operation` (`{"count","code","message"}`: the next capacity changes end Failed
 * with that error).
 */
export function serveControl(cloud: AzureCloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  serveControlApi(
    {
      state: () => standinState(cloud, faults, calls),
      faults,
      decode: true,
      errorStatus: (err) => (err instanceof ArmError ? err.httpStatus : 400),
      route: (method, route, body) => {
        if (method !== 'POST') return undefined;
        if (route[0] === 'scale-sets' && route.length === 1) {
          const ss = cloud.putScaleSet(jsonBody(body) as unknown as ScaleSetSpec);
          return { name: ss.name, resourceGroup: ss.resourceGroup };
        }
        if (route[0] === 'vms' && route.length === 5 && route[4] === 'delete') {
          const vm = cloud.deleteOutOfBand(route[1]!, route[2]!, route[3]!);
          return { name: vm.name, instanceId: vm.instanceId };
        }
        if (route[0] === 'fail-operation' && route.length === 1) {
          const b = jsonBody(body);
          for (let i = failureCount(b); i > 0; i--) cloud.failOperations.push(allocationFailure(b.code, b.message));
          return { pending: cloud.failOperations.length };
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
