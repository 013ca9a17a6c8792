import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@fleetrunner/common';
import type { Faults, ThrottleRule } from '@fleetrunner/standin-kit';
import { authenticate, type Directory } from '../auth.js';
import type { AzureCloud } from '../cloud.js';
import type { ScaleSet } from '../model.js';
import { ArmError, invalidParameter } from './errors.js';
import { IPCONFIG, NIC, PIP, instanceViewJson, nicJson, operationJson, pipJson, scaleSetJson, vmJson } from './resources.js';

/** What the ARM handler needs. */
export interface ApiContext {
  cloud: AzureCloud;
  faults: Faults;
  directory: Directory;
  /** `https://127.0.0.1:<port>`: the base of the Azure-AsyncOperation and Location URLs. */
  base: string;
  /** Calls served, by `<service>:<operation>` (e.g. `compute:virtualMachineScaleSets.update`). */
  calls: Map<string, number>;
  /** VMs per page of the scale-set VMs list (then a nextLink). */
  pageSize: number;
  /** Seconds in the Retry-After of asynchronous operations. */
  pollRetryAfterSeconds: number;
  logger: Logger;
}

/** The network api-versions that have the scale-set NIC and public-address operations. */
const NETWORK_VMSS_VERSIONS = new Set(['2017-03-30', '2018-10-01']);

interface Route {
  service: 'compute' | 'network';
  operation: string;
  resourceGroup?: string;
  scaleSet?: string;
  instanceId?: string;
  nic?: string;
  ipConfig?: string;
  pip?: string;
  opId?: string;
}

const SS = '^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/microsoft\\.compute/virtualMachineScaleSets/([^/]+)';
const ROUTES: [RegExp, string, Route['service'], string[]][] = [
  [new RegExp(`${SS}$`, 'i'), 'virtualMachineScaleSets.get|update', 'compute', ['resourceGroup', 'scaleSet']],
  [new RegExp(`${SS}/delete$`, 'i'), 'virtualMachineScaleSets.deleteInstances', 'compute', ['resourceGroup', 'scaleSet']],
  [new RegExp(`${SS}/virtualMachines$`, 'i'), 'virtualMachineScaleSetVMs.list', 'compute', ['resourceGroup', 'scaleSet']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)$`, 'i'), 'virtualMachineScaleSetVMs.get', 'compute', ['resourceGroup', 'scaleSet', 'instanceId']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)/instanceView$`, 'i'), 'virtualMachineScaleSetVMs.getInstanceView', 'compute', ['resourceGroup', 'scaleSet', 'instanceId']],
  [new RegExp(`${SS}/networkInterfaces$`, 'i'), 'networkInterfaces.listVirtualMachineScaleSetNetworkInterfaces', 'network', ['resourceGroup', 'scaleSet']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)/networkInterfaces$`, 'i'), 'networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces', 'network', ['resourceGroup', 'scaleSet', 'instanceId']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)/networkInterfaces/([^/]+)$`, 'i'), 'networkInterfaces.getVirtualMachineScaleSetNetworkInterface', 'network', ['resourceGroup', 'scaleSet', 'instanceId', 'nic']],
  [new RegExp(`${SS}/publicIPAddresses$`, 'i'), 'publicIPAddresses.listVirtualMachineScaleSetPublicIPAddresses', 'network', ['resourceGroup', 'scaleSet']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)/networkInterfaces/([^/]+)/ipConfigurations/([^/]+)/publicIPAddresses$`, 'i'), 'publicIPAddresses.listVirtualMachineScaleSetVMPublicIPAddresses', 'network', ['resourceGroup', 'scaleSet', 'instanceId', 'nic', 'ipConfig']],
  [new RegExp(`${SS}/virtualMachines/([^/]+)/networkInterfaces/([^/]+)/ipConfigurations/([^/]+)/publicIPAddresses/([^/]+)$`, 'i'), 'publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress', 'network', ['resourceGroup', 'scaleSet', 'instanceId', 'nic', 'ipConfig', 'pip']],
  [/^\/subscriptions\/([^/]+)\/providers\/microsoft\.compute\/locations\/[^/]+\/operations\/([^/]+)$/i, 'operations.status', 'compute', ['opId']],
  [/^\/subscriptions\/([^/]+)\/providers\/microsoft\.compute\/locations\/[^/]+\/operationResults\/([^/]+)$/i, 'operations.result', 'compute', ['opId']],
];

function route(ctx: ApiContext, method: string, url: URL): Route {
  for (const [re, op, service, names] of ROUTES) {
    const m = re.exec(url.pathname);
    if (!m) continue;
    const [sub, ...rest] = m.slice(1).map((x) => decodeURIComponent(x));
    if (sub !== ctx.cloud.options.subscriptionId) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
    const r: Route = { service, operation: op };
    names.forEach((n, i) => ((r as unknown as Record<string, string>)[n] = rest[i]!));
    if (op === 'virtualMachineScaleSets.get|update') r.operation = method === 'PATCH' ? 'virtualMachineScaleSets.update' : 'virtualMachineScaleSets.get';
    const want = r.operation === 'virtualMachineScaleSets.update' ? 'PATCH' : r.operation === 'virtualMachineScaleSets.deleteInstances' ? 'POST' : 'GET';
    if (method !== want) throw new ArmError(405, 'HttpMethodNotAllowed', `The HTTP method '${method}' is not supported for '${url.pathname}'.`);
    return r;
  }
  throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found in the namespace for path '${url.pathname}'.`);
}

function checkApiVersion(r: Route, url: URL): void {
  const v = url.searchParams.get('api-version');
  if (v === null || v === '') throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  const ok = r.service === 'network' ? NETWORK_VMSS_VERSIONS.has(v) : /^20\d\d-\d\d-\d\d(-preview)?$/.test(v) && v >= '2017-03-30';
  if (!ok) {
    const supported = r.service === 'network' ? [...NETWORK_VMSS_VERSIONS].join(', ') : '2017-03-30 … 2026-03-01';
    throw new ArmError(400, 'NoRegisteredProviderFound', `No registered resource provider found for location and API version '${v}' and resource type of this path. The supported api-versions are '${supported}'.`);
  }
}

function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid: expected an object.');
  return v as Record<string, unknown>;
}

function throttled(rule: ThrottleRule): ArmError {
  if (rule.status === 503) return new ArmError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please try again later.', rule.retryAfterSeconds);
  return new ArmError(
    429,
    'TooManyRequests',
    "The request is being throttled as the limit has been reached for operation type - Read_30Min. For more information, see - https://aka.ms/VMThrottling",
    rule.retryAfterSeconds ?? 1,
    { 'x-ms-ratelimit-remaining-resource': 'Microsoft.Compute/HighCostGet30Min;0' },
  );
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = value === undefined ? '' : JSON.stringify(value);
  res.writeHead(status, {
    ...(value === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache',
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function asyncHeaders(ctx: ApiContext, location: string, opId: string, apiVersion: string, withLocation: boolean): Record<string, string> {
  const base = `${ctx.base}/subscriptions/${ctx.cloud.options.subscriptionId}/providers/Microsoft.Compute/locations/${location}`;
  return {
    'azure-asyncoperation': `${base}/operations/${opId}?p=${randomUUID()}&api-version=${apiVersion}`,
    ...(withLocation ? { location: `${base}/operationResults/${opId}?p=${randomUUID()}&api-version=${apiVersion}` } : {}),
    'retry-after': String(ctx.pollRetryAfterSeconds),
  };
}

function uniform(ss: ScaleSet, what: string): void {
  if (ss.spec.orchestrationMode !== 'Uniform') {
    throw new ArmError(409, 'OperationNotAllowed', `Operation '${what}' is not allowed on Virtual Machine Scale Set '${ss.name}'.`);
  }
}

/** One answer: status, body (undefined = empty) and headers. */
type Answer = [number, unknown, Record<string, string>?];

function call(ctx: ApiContext, r: Route, url: URL, body: Buffer): Answer {
  const { cloud } = ctx;
  const apiVersion = url.searchParams.get('api-version')!;
  if (r.operation === 'operations.status') return [200, operationJson(cloud.findOperation(r.opId!))];
  if (r.operation === 'operations.result') {
    const op = cloud.findOperation(r.opId!);
    if (op.status === 'InProgress') return [202, undefined, { location: `${ctx.base}${url.pathname}${url.search}`, 'retry-after': String(ctx.pollRetryAfterSeconds) }];
    if (op.status === 'Failed') throw new ArmError(500, op.error?.code ?? 'InternalOperationError', op.error?.message ?? 'The operation failed.');
    return [200, undefined];
  }
  const ss = cloud.scaleSet(r.resourceGroup!, r.scaleSet!);
  const vm = () => {
    const v = cloud.vm(ss, r.instanceId!);
    return v;
  };
  switch (r.operation) {
    case 'virtualMachineScaleSets.get':
      return [200, scaleSetJson(cloud, ss)];
    case 'virtualMachineScaleSets.update': {
      const op = cloud.update(ss, jsonBody(body));
      if (!op) return [200, scaleSetJson(cloud, ss)];
      return [200, scaleSetJson(cloud, ss), asyncHeaders(ctx, ss.spec.location, op.id, apiVersion, false)];
    }
    case 'virtualMachineScaleSets.deleteInstances': {
      uniform(ss, 'VirtualMachineScaleSets.DeleteInstances');
      const b = jsonBody(body);
      const ids = Array.isArray(b.instanceIds) ? b.instanceIds : undefined;
      if (!ids || ids.length === 0 || ids.some((x) => typeof x !== 'string')) throw invalidParameter("Required parameter 'instanceIds' is missing (null).", 'instanceIds');
      const op = cloud.deleteInstances(ss, ids as string[]);
      return [202, undefined, asyncHeaders(ctx, ss.spec.location, op.id, apiVersion, true)];
    }
    case 'virtualMachineScaleSetVMs.list': {
      uniform(ss, 'VirtualMachineScaleSets.virtualMachines.GET');
      const expand = (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview';
      const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
      if (!Number.isInteger(skip) || skip < 0) throw invalidParameter(`The value of parameter '$skiptoken' is invalid.`, '$skiptoken');
      const page = ss.vms.slice(skip, skip + ctx.pageSize);
      const next = skip + ctx.pageSize < ss.vms.length ? new URL(`${ctx.base}${url.pathname}${url.search}`) : undefined;
      next?.searchParams.set('$skiptoken', String(skip + ctx.pageSize));
      return [200, { value: page.map((v) => vmJson(cloud, ss, v, expand)), ...(next ? { nextLink: next.toString() } : {}) }];
    }
    case 'virtualMachineScaleSetVMs.get':
      uniform(ss, 'VirtualMachineScaleSets.virtualMachines.GET');
      return [200, vmJson(cloud, ss, vm(), (url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview')];
    case 'virtualMachineScaleSetVMs.getInstanceView':
      uniform(ss, 'VirtualMachineScaleSets.virtualMachines.GET');
      return [200, instanceViewJson(ss, vm())];
    case 'networkInterfaces.listVirtualMachineScaleSetNetworkInterfaces':
      return [200, { value: ss.vms.map((v) => nicJson(cloud, ss, v)).filter((x) => x !== undefined) }];
    case 'networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces':
      return [200, { value: [nicJson(cloud, ss, vm())].filter((x) => x !== undefined) }];
    case 'networkInterfaces.getVirtualMachineScaleSetNetworkInterface': {
      const nic = r.nic!.toLowerCase() === `${ss.name}-${NIC}`.toLowerCase() ? nicJson(cloud, ss, vm()) : undefined;
      if (!nic) throw new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${ss.name}/virtualMachines/${r.instanceId}/networkInterfaces/${r.nic}' under resource group '${ss.resourceGroup}' was not found.`);
      return [200, nic];
    }
    case 'publicIPAddresses.listVirtualMachineScaleSetPublicIPAddresses':
      return [200, { value: ss.vms.map((v) => pipJson(cloud, ss, v)).filter((x) => x !== undefined) }];
    case 'publicIPAddresses.listVirtualMachineScaleSetVMPublicIPAddresses':
    case 'publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress': {
      const v = vm();
      const matches = r.nic!.toLowerCase() === `${ss.name}-${NIC}`.toLowerCase() && r.ipConfig!.toLowerCase() === IPCONFIG && (r.pip === undefined || r.pip.toLowerCase() === PIP);
      const pip = matches ? pipJson(cloud, ss, v) : undefined;
      if (r.pip === undefined) return [200, { value: pip ? [pip] : [] }];
      if (!pip) throw new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${ss.name}/virtualMachines/${r.instanceId}/networkInterfaces/${r.nic}/ipConfigurations/${r.ipConfig}/publicIPAddresses/${r.pip}' under resource group '${ss.resourceGroup}' was not found.`);
      return [200, pip];
    }
    default:
      throw new ArmError(404, 'InvalidResourceType', `no such operation ${r.operation}`);
  }
}

/** Serves one ARM request (JSON in and out; errors in ARM's shape with the HTTP status). */
export function serveArm(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  let r: Route | undefined;
  try {
    r = route(ctx, req.method ?? 'GET', url);
    checkApiVersion(r, url);
    authenticate(ctx.directory, req.headers.authorization, ctx.base, ctx.cloud.options.clock.now());
    const key = `${r.service}:${r.operation}`;
    ctx.calls.set(key, (ctx.calls.get(key) ?? 0) + 1);
    const rule = ctx.faults.match(r.service, r.operation);
    if (rule) throw throttled(rule);
    const [status, out, headers] = call(ctx, r, url, body);
    send(res, status, out, headers);
    ctx.logger.debug('api call', { operation: r.operation, status });
  } catch (err) {
    const e = err instanceof ArmError ? err : new ArmError(500, 'InternalServerError', `Internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (!(err instanceof ArmError)) ctx.logger.error('api call failed', { error: e.message });
    ctx.logger.debug('api call', { operation: r?.operation, status: e.httpStatus, code: e.code });
    send(res, e.httpStatus, e.body(), { ...e.headers, ...(e.retryAfterSeconds !== undefined ? { 'retry-after': String(e.retryAfterSeconds) } : {}) });
  }
}
