import type { ServerResponse } from 'node:http';
import type { Faults, ThrottleRule } from '@fleetrunner/standin-kit';
import { allocationFailure, type AzureCloud } from './cloud.js';
import { ArmError } from './api/errors.js';
import type { ScaleSetSpec } from './model.js';

/** A snapshot of the stand-in for dry runs and tests: `GET /_standin/state`. */
export interface StandinState {
  subscriptionId: string;
  scaleSets: {
    name: string;
    resourceGroup: string;
    capacity: number;
    quota: number;
    vms: { instanceId: string; name: string; provisioningState: string; power: string; privateIp?: string; publicIp?: string }[];
  }[];
  calls: Record<string, number>;
  throttled: number;
}

export function standinState(cloud: AzureCloud, faults: Faults, calls: ReadonlyMap<string, number>): StandinState {
  return {
    subscriptionId: cloud.options.subscriptionId,
    scaleSets: [...cloud.scaleSets.values()].map((ss) => ({
      name: ss.name,
      resourceGroup: ss.resourceGroup,
      capacity: ss.capacity,
      quota: ss.spec.quota,
      vms: ss.vms.map((v) => ({
        instanceId: v.instanceId,
        name: v.name,
        provisioningState: v.provisioningState,
        power: v.power,
        ...(v.privateIp ? { privateIp: v.privateIp } : {}),
        ...(v.publicIp ? { publicIp: v.publicIp } : {}),
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
 * The stand-in's own endpoints, under `/_standin/` (no credentials): `GET state`; `POST scale-sets` (a scale set
 * spec: create or replace); `POST vms/<resource group>/<scale set>/<instance id>/delete` (deleted out of band);
 * `POST throttle` (a throttle rule, `status` 429 or 503, `retryAfterSeconds`); `DELETE throttle`; `POST
 * fail-operation` (`{"count","code","message"}`: the next capacity changes end Failed with that error).
 */
export function serveControl(cloud: AzureCloud, faults: Faults, calls: ReadonlyMap<string, number>, method: string, path: string, body: Buffer, res: ServerResponse): void {
  const route = path.slice('/_standin/'.length).split('/').map(decodeURIComponent);
  try {
    if (method === 'GET' && route[0] === 'state') return reply(res, 200, standinState(cloud, faults, calls));
    if (method === 'POST' && route[0] === 'scale-sets' && route.length === 1) {
      const ss = cloud.putScaleSet(jsonBody(body) as unknown as ScaleSetSpec);
      return reply(res, 200, { name: ss.name, resourceGroup: ss.resourceGroup });
    }
    if (method === 'POST' && route[0] === 'vms' && route.length === 5 && route[4] === 'delete') {
      const vm = cloud.deleteOutOfBand(route[1]!, route[2]!, route[3]!);
      return reply(res, 200, { name: vm.name, instanceId: vm.instanceId });
    }
    if (route[0] === 'throttle' && route.length === 1) {
      if (method === 'POST') faults.addThrottle(jsonBody(body) as ThrottleRule);
      else if (method === 'DELETE') faults.clear();
      else return reply(res, 405, { error: 'use POST or DELETE' });
      return reply(res, 200, { throttled: faults.throttled });
    }
    if (method === 'POST' && route[0] === 'fail-operation' && route.length === 1) {
      const b = jsonBody(body);
      const n = b.count ?? 1;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error('count must be a positive integer');
      for (let i = 0; i < n; i++) cloud.failOperations.push(allocationFailure(b.code, b.message));
      return reply(res, 200, { pending: cloud.failOperations.length });
    }
    reply(res, 404, { error: `no such stand-in endpoint: ${method} ${path}` });
  } catch (err) {
    reply(res, err instanceof ArmError ? err.httpStatus : 400, { error: err instanceof Error ? err.message : String(err) });
  }
}
