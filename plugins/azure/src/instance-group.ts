import type { TokenCredential } from '@azure/identity';
import { RunnerError, nullLogger, systemClock, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { GroupLifecycle, decreaseGroup, decreaseOutcome, heartbeatFromKnown, increaseCapacity, knownInstance, planDecrease, vanished, type CapacityControl } from '@fleetrunner/fleeting';
import type { CallOptions, ConnectInfo, ConnectorConfig, DecreaseResult, IncreaseResult, InitSettings, InstanceGroup, InstanceState, InstanceStatus, ProviderInfo } from '@fleetrunner/fleeting';
import { AzureApi, type VmAddresses } from './azure-api.js';
import { azureEndpoints } from './cloud-endpoints.js';
import { parseAzureConfig, type AzureConfig } from './config.js';
import { archOf, instanceState, osOf, type VmView } from './instance-state.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { VERSION } from './version.js';

/** Options of {@link AzureInstanceGroup}. Times are milliseconds. */
export interface AzureInstanceGroupOptions {
  /** Retry back-off runs on it. Default: the wall clock. */
  clock?: Clock;
  /** Default: no logging (init's `logger` option takes precedence). */
  logger?: Logger;
  /** Where the endpoint overrides come from. Default `process.env` (the credential chain always reads `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Retries of throttled and transient calls. Default {@link DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /** Poll interval of long-running operations; default 2000 (the SDK's). */
  pollIntervalMs?: number;
  /** Extra CA certificates (PEM) for calls made in this process (a plugin process reads NODE_EXTRA_CA_CERTS). */
  ca?: readonly string[];
  /** The credential; default DefaultAzureCredential. */
  credential?: TokenCredential;
}

/** The largest capacity of a scale set. */
export const MAX_SCALE_SET_SIZE = 1000;

interface Known {
  state: InstanceState;
  vm: VmView;
}

/** A scale set's capacity (`sku.capacity`), up to the largest scale set size. */
function scaleSetCapacity(name: string): CapacityControl<AzureApi> {
  return {
    read: async (api, signal) => {
      const ss = await api.getScaleSet(signal);
      if (!ss) throw new RunnerError('not_found', `scale set "${name}" no longer exists`);
      return { current: ss.capacity, max: MAX_SCALE_SET_SIZE };
    },
    set: (api, target, signal) => api.setCapacity(target, signal),
    limit: (max, current) => `the largest scale set size ${max} (capacity was ${current})`,
  };
}

/**
 * An instance group over an Azure Virtual Machine Scale Set in Uniform orchestration: capacity through `sku.capacity`
 * and deleteInstances, states from the scale set's VMs and their instance views, addresses from the VMs' network
 * interfaces and public addresses, logins with the scale set's static credentials. See the package README.
 */
export class AzureInstanceGroup implements InstanceGroup {
  private readonly life = new GroupLifecycle<AzureApi>();
  private config!: AzureConfig;
  private connector!: ConnectorConfig;
  private logger: Logger;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private readonly retry: RetryPolicy;
  private known = new Map<string, Known>();
  /** Addresses per VM (by vmId: a VM made again is read again). */
  private readonly addresses = new Map<string, VmAddresses>();
  private adminUsername = '';

  constructor(private readonly options: AzureInstanceGroupOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.env = options.env ?? process.env;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    this.life.starting(options.signal);
    const warnings: string[] = [];
    const config = parseAzureConfig(settings.pluginConfig, warnings);
    const endpoints = azureEndpoints(this.env);
    this.logger = (options.logger ?? this.logger).child({ component: 'plugin-azure', scale_set: config.name, resource_group: config.resourceGroupName });
    for (const w of warnings) this.logger.warn(w, {});
    this.connector = settings.connector;
    const c = settings.connector;
    if (!c.useStaticCredentials && !c.password && c.key.length === 0) {
      this.logger.warn('this plugin provisions no credentials: set connector_config.use_static_credentials = true with the scale set admin password or key_path', {});
    }
    const api = new AzureApi({
      config,
      endpoints,
      clock: this.clock,
      logger: this.logger,
      retry: this.retry,
      pollIntervalMs: this.options.pollIntervalMs ?? 2000,
      ca: this.options.ca,
      credential: this.options.credential,
    });
    try {
      await api.authorize(options.signal).catch((err: unknown) => {
        throw this.credentialsHint(err);
      });
      const ss = await api.getScaleSet(options.signal).catch((err: unknown) => {
        throw this.credentialsHint(err);
      });
      if (!ss) {
        throw new RunnerError('not_found', `plugin_config.name: scale set "${config.name}" not found in resource group ${config.resourceGroupName} of subscription ${config.subscriptionId}`);
      }
      if (ss.orchestrationMode !== 'Uniform') {
        throw new RunnerError(
          'invalid_argument',
          `plugin_config.name: scale set "${config.name}" uses ${ss.orchestrationMode} orchestration; only Uniform scale sets are supported (as upstream: the scale-set VMs API refuses Flexible ones)`,
        );
      }
      if (ss.overprovision) this.logger.warn('the scale set overprovisions: extra VMs appear and vanish; turn overprovisioning off', {});
      this.adminUsername = ss.adminUsername;
      const vms = await api.listVms(options.signal);
      this.known = new Map(vms.map((vm) => [vm.name, { state: instanceState(vm), vm }]));
      this.config = config;
      this.life.opened(api);
      this.logger.info('initialized', { capacity: ss.capacity, instances: vms.length, location: ss.location, endpoints: endpoints.source });
      return { id: `azure/${config.subscriptionId}/${config.resourceGroupName}/${config.name}`, maxSize: MAX_SCALE_SET_SIZE, version: VERSION, buildInfo: '', capabilities: [] };
    } catch (err) {
      throw RunnerError.wrap('initializing', err);
    }
  }

  /** Auth failures name where credentials come from. */
  private credentialsHint(err: unknown): unknown {
    const e = toRunnerError(err);
    if (e.code !== 'auth_failed') return err;
    const set = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE', 'IDENTITY_ENDPOINT'].filter((k) => process.env[k]);
    const from = set.length > 0 ? `the environment (${set.join(', ')} set)` : 'the Azure credential chain (no AZURE_* credentials in the environment: workload identity, managed identity, Azure CLI)';
    return new RunnerError('auth_failed', `${e.message} (credentials from ${from})`, { cause: err });
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    const api = this.ready(options.signal);
    const vms = await api.listVms(options.signal).catch((err: unknown) => {
      if (toRunnerError(err).code === 'not_found') {
        throw new RunnerError('not_found', `scale set "${this.config.name}" no longer exists in resource group ${this.config.resourceGroupName}`, { cause: err });
      }
      throw err;
    });
    const next = new Map<string, Known>();
    const out: InstanceStatus[] = [];
    for (const vm of vms) {
      const before = this.known.get(vm.name);
      const state = instanceState(vm);
      if (before?.state !== state && state === 'timeout') this.logger.warn('instance broken; the host replaces it', { instance: vm.name, provisioning: vm.provisioningState, statuses: vm.statuses.join(',') });
      next.set(vm.name, { state, vm });
      out.push({ id: vm.name, state });
    }
    // A VM that left the scale set between two updates (deleted, also out of band) is reported gone once.
    out.push(...vanished(this.known, next));
    const live = new Set(vms.map((v) => v.vmId));
    for (const vmId of this.addresses.keys()) if (!live.has(vmId)) this.addresses.delete(vmId);
    this.known = next;
    return out;
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    return increaseCapacity(delta, this.life, options.signal, this.logger, scaleSetCapacity(this.config.name));
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    return decreaseGroup(ids, this.life, options.signal, async (api) => {
      const { succeeded, failures, send: names } = planDecrease(ids, this.known, this.where());
      const send = new Map(names.map((id) => [this.known.get(id)!.vm.instanceId, id]));
      const batch = async (instanceIds: string[]): Promise<void> => {
        try {
          await api.deleteInstances(instanceIds, options.signal);
          succeeded.push(...instanceIds.map((i) => send.get(i)!));
        } catch (err) {
          const e = toRunnerError(err);
          // Azure refuses the whole batch when one id is no longer a member: find out which, one at a time.
          if (instanceIds.length > 1 && e.code === 'invalid_argument') {
            for (const i of instanceIds) await batch([i]);
            return;
          }
          for (const i of instanceIds) {
            const id = send.get(i)!;
            failures.push(
              e.code === 'invalid_argument' && /not an active/i.test(e.message) ? new RunnerError('instance_not_found', `${id}: ${e.message}`, { cause: err }) : RunnerError.wrap(id, err),
            );
          }
        }
      };
      if (send.size > 0) await batch([...send.keys()]);
      return decreaseOutcome(succeeded, failures, this.logger, this.known);
    });
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    const api = this.ready(options.signal);
    const k = knownInstance(this.known, id, this.where());
    const c = this.connector;
    if (!c.useStaticCredentials && !c.password && c.key.length === 0) {
      throw new RunnerError(
        'invalid_argument',
        `instance ${id}: the azure plugin provisions no credentials; set connector_config.use_static_credentials = true with the scale set's admin password (connector_config.password) or its key (connector_config.key_path)`,
      );
    }
    let addr = this.addresses.get(k.vm.vmId);
    if (!addr || !addr.privateIp) {
      addr = await api.addresses(k.vm.instanceId, options.signal).catch((err: unknown) => {
        if (toRunnerError(err).code === 'not_found') throw new RunnerError('instance_not_found', `instance ${id}: ${toRunnerError(err).message}`, { cause: err });
        throw err;
      });
      if (addr.privateIp) this.addresses.set(k.vm.vmId, addr);
    }
    if (!(addr.privateIp || addr.publicIp)) throw new RunnerError('unavailable', `instance ${id} has no address yet (${k.vm.provisioningState || 'no provisioning state'})`);
    const os = c.os || osOf(k.vm.osType);
    return {
      ...c,
      id,
      os,
      arch: c.arch || archOf(k.vm.vmSize),
      username: c.username || k.vm.adminUsername || this.adminUsername || (os === 'windows' ? 'Administrator' : 'azureuser'),
      internalAddr: addr.privateIp,
      externalAddr: addr.publicIp,
    };
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    this.ready(options.signal);
    heartbeatFromKnown(this.known, id, this.where());
  }

  async shutdown(_options: CallOptions = {}): Promise<void> {
    this.life.shutDown();
  }

  private ready(signal: AbortSignal | undefined): AzureApi {
    return this.life.ready(signal);
  }

  /** This group in messages. */
  private where(): string {
    return `scale set "${this.config.name}"`;
  }
}
