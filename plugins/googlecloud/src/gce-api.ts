// Deep imports of the three clients: the package root pulls in every client and v1beta (a 72 MB bundle).
import { InstanceGroupManagersClient } from '@google-cloud/compute/build/src/v1/instance_group_managers_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { GoogleAuth } from 'google-auth-library';
import { RunnerError, raceAbort, type Clock, type Logger } from '@fleetrunner/common';
import type { GceConfig } from './config.js';
import type { ComputeEndpoint } from './endpoint.js';
import type { ManagedView } from './instance-state.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** The OAuth scope the plugin asks for. */
export const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';

/** A VM as the plugin uses it. */
export interface InstanceView {
  name: string;
  id: string;
  status: string;
  internalIp: string;
  externalIp: string;
  metadata: { fingerprint: string; items: { key: string; value: string }[] };
  disks: { guestOsFeatures: string[]; licenses: string[]; architecture: string }[];
}

/** An operation as the plugin uses it. */
interface OperationView {
  name: string;
  status: string;
  errors: { code: string; message: string }[];
  httpErrorStatusCode: number | undefined;
}

/** Options of {@link GceApi}. */
export interface GceApiOptions {
  config: GceConfig;
  endpoint: ComputeEndpoint | undefined;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  /** listManagedInstances page size (GCE's maximum is 500). */
  pageSize: number;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : '';
}

function operationOf(v: unknown): OperationView {
  const o = (v ?? {}) as { name?: unknown; status?: unknown; error?: { errors?: { code?: unknown; message?: unknown }[] | null } | null; httpErrorStatusCode?: unknown };
  return {
    name: str(o.name),
    status: str(o.status),
    errors: (o.error?.errors ?? []).map((e) => ({ code: str(e.code), message: str(e.message) })),
    httpErrorStatusCode: typeof o.httpErrorStatusCode === 'number' ? o.httpErrorStatusCode : undefined,
  };
}

/**
 * The Compute Engine calls of the plugin over three clients of `@google-cloud/compute` (REST transport) sharing one
 * GoogleAuth: retries on the injected clock ({@link withRetry}), abort signals raced against the calls (gax takes
 * none), operations waited on with zoneOperations.wait, results narrowed to plugin-side shapes.
 */
export class GceApi {
  private readonly igm: InstanceGroupManagersClient;
  private readonly instances: InstancesClient;
  private readonly operations: ZoneOperationsClient;
  private readonly where: { project: string; zone: string };
  private readonly auth: GoogleAuth;

  constructor(private readonly options: GceApiOptions) {
    const { config, endpoint } = options;
    const auth = new GoogleAuth({ scopes: [COMPUTE_SCOPE], ...(config.credentialsFile ? { keyFilename: config.credentialsFile } : {}) });
    // A service account key then signs its own JWT (with the scope) instead of fetching a token from
    // oauth2.googleapis.com: one network dependency less, and it works against private endpoints.
    auth.useJWTAccessWithScope = true;
    this.auth = auth;
    const common = { auth, fallback: true, ...(endpoint ? { apiEndpoint: endpoint.apiEndpoint, port: endpoint.port, protocol: endpoint.protocol } : {}) };
    this.igm = new InstanceGroupManagersClient(common);
    this.instances = new InstancesClient(common);
    this.operations = new ZoneOperationsClient(common);
    this.where = { project: config.project, zone: config.zone };
  }

  private run<T>(context: string, call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { retry, clock, logger } = this.options;
    return withRetry(context, () => raceAbort(call(), signal), { policy: retry, clock, logger, signal });
  }

  /**
   * Resolves the credentials (reads the key file, or finds Application Default Credentials). Done before the first
   * call: the clients build their transport from the credentials once, and when that fails they also leave rejected
   * promises nobody awaits, which would end the plugin process.
   */
  async authorize(signal?: AbortSignal): Promise<void> {
    try {
      await raceAbort(this.auth.getClient(), signal);
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw new RunnerError('auth_failed', `loading credentials: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** instanceGroupManagers.get: the target size; undefined when the group does not exist. */
  async getGroup(signal?: AbortSignal): Promise<{ targetSize: number } | undefined> {
    try {
      const [g] = await this.run('getting instance group', () => this.igm.get({ ...this.where, instanceGroupManager: this.options.config.name }), signal);
      return { targetSize: Number(g.targetSize ?? 0) };
    } catch (err) {
      if (err instanceof RunnerError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  /** instanceGroupManagers.listManagedInstances, every page. */
  async listManaged(signal?: AbortSignal): Promise<ManagedView[]> {
    const out: ManagedView[] = [];
    let pageToken: string | undefined;
    do {
      const request = { ...this.where, instanceGroupManager: this.options.config.name, maxResults: this.options.pageSize, ...(pageToken ? { pageToken } : {}) };
      const [items, , raw] = await this.run('listing managed instances', () => this.igm.listManagedInstances(request, { autoPaginate: false }), signal);
      for (const m of items) {
        const first = m.lastAttempt?.errors?.errors?.[0];
        out.push({
          name: str(m.name) || str(m.instance).split('/').pop() || '',
          id: str(m.id),
          currentAction: str(m.currentAction),
          instanceStatus: str(m.instanceStatus),
          lastError: first ? `${str(first.code)}: ${str(first.message)}` : '',
        });
      }
      pageToken = str(raw?.nextPageToken) || undefined;
    } while (pageToken);
    return out.filter((m) => m.name !== '');
  }

  /** instanceGroupManagers.resize, waited for. */
  async resize(size: number, signal?: AbortSignal): Promise<void> {
    const [lro] = await this.run(`resizing to ${size}`, () => this.igm.resize({ ...this.where, instanceGroupManager: this.options.config.name, size }), signal);
    await this.wait(`resizing to ${size}`, lro.latestResponse, signal);
  }

  /** instanceGroupManagers.deleteInstances, waited for. */
  async deleteInstances(names: readonly string[], skipInvalid: boolean, signal?: AbortSignal): Promise<void> {
    const what = `deleting ${names.join(', ')}`;
    const resource = { instances: names.map((n) => `zones/${this.where.zone}/instances/${n}`), skipInstancesOnValidationError: skipInvalid };
    const [lro] = await this.run(what, () => this.igm.deleteInstances({ ...this.where, instanceGroupManager: this.options.config.name, instanceGroupManagersDeleteInstancesRequestResource: resource }), signal);
    await this.wait(what, lro.latestResponse, signal);
  }

  /** instances.get. */
  async getInstance(name: string, signal?: AbortSignal): Promise<InstanceView> {
    const [i] = await this.run(`getting instance ${name}`, () => this.instances.get({ ...this.where, instance: name }), signal);
    const nic = i.networkInterfaces?.[0];
    return {
      name,
      id: str(i.id),
      status: str(i.status),
      internalIp: str(nic?.networkIP),
      externalIp: str(nic?.accessConfigs?.find((a) => a.natIP)?.natIP),
      metadata: { fingerprint: str(i.metadata?.fingerprint), items: (i.metadata?.items ?? []).map((it) => ({ key: str(it.key), value: str(it.value) })) },
      disks: (i.disks ?? []).map((d) => ({
        guestOsFeatures: (d.guestOsFeatures ?? []).map((f) => str(f.type)),
        licenses: (d.licenses ?? []).map(str),
        architecture: str(d.architecture),
      })),
    };
  }

  /** instances.setMetadata with the fingerprint read before, waited for. A stale fingerprint fails with 412. */
  async setMetadata(name: string, metadata: InstanceView['metadata'], signal?: AbortSignal): Promise<void> {
    const [lro] = await this.run(`setting metadata of ${name}`, () => this.instances.setMetadata({ ...this.where, instance: name, metadataResource: metadata }), signal);
    await this.wait(`setting metadata of ${name}`, lro.latestResponse, signal);
  }

  /** Waits (zoneOperations.wait, repeated: it may return still RUNNING) until the operation is done; its error is thrown. */
  private async wait(context: string, latest: unknown, signal: AbortSignal | undefined): Promise<void> {
    let op = operationOf(latest);
    if (!op.name) throw new RunnerError('plugin_error', `${context}: the API returned no operation`);
    while (op.status !== 'DONE') {
      const name = op.name;
      const [next] = await this.run(`${context}: waiting for operation ${name}`, () => this.operations.wait({ ...this.where, operation: name }), signal);
      op = operationOf(next);
      if (!op.name) op.name = name;
    }
    if (op.errors.length > 0) {
      const first = op.errors[0]!;
      const code = /QUOTA/.test(first.code) ? 'no_capacity' : /RESOURCE_POOL_EXHAUSTED|RESOURCE_NOT_READY|UNAVAILABLE/.test(first.code) ? 'unavailable' : 'plugin_error';
      throw new RunnerError(code, `${context}: operation ${op.name} failed: ${op.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`, {
        details: { operation: op.name, ...(op.httpErrorStatusCode ? { httpStatus: op.httpErrorStatusCode } : {}) },
      });
    }
  }

  /** Closes the clients' connections. */
  async close(): Promise<void> {
    await Promise.allSettled([this.igm.close(), this.instances.close(), this.operations.close()]);
  }
}
