import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { RunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { AzureEndpoints } from './cloud-endpoints.js';
import type { AzureConfig } from './config.js';
import type { VmView } from './instance-state.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** The scale set as the plugin uses it. */
export interface ScaleSetView {
  capacity: number;
  orchestrationMode: string;
  provisioningState: string;
  location: string;
  adminUsername: string;
  overprovision: boolean;
}

/** A VM's addresses: private and (optional) public IP of its primary NIC's primary IP configuration. */
export interface VmAddresses {
  privateIp: string;
  publicIp: string;
}

/** Options of {@link AzureApi}. Times are milliseconds. */
export interface AzureApiOptions {
  config: AzureConfig;
  endpoints: AzureEndpoints;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  /** Poll interval of long-running operations (the SDK's own timer). */
  pollIntervalMs: number;
  /** Extra CA certificates (PEM) for this process; in a plugin process use NODE_EXTRA_CA_CERTS. */
  ca?: readonly string[] | undefined;
  /** The credential; default DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI…). */
  credential?: TokenCredential | undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/**
 * The Azure calls of the plugin over `@azure/arm-compute` and `@azure/arm-network` sharing one credential, with
 * the SDK's retries off and the plugin's ({@link withRetry}) on the injected clock, abort signals passed to every
 * call and poller, results narrowed to plugin-side shapes.
 */
export class AzureApi {
  readonly credential: TokenCredential;
  private readonly compute: ComputeManagementClient;
  private readonly network: NetworkManagementClient;
  private readonly rg: string;
  private readonly name: string;

  constructor(private readonly options: AzureApiOptions) {
    const { config, endpoints } = options;
    const tlsOptions = options.ca && options.ca.length > 0 ? { tlsOptions: { ca: [...options.ca] } } : {};
    this.credential =
      options.credential ??
      new DefaultAzureCredential({
        authorityHost: endpoints.authorityHost,
        // MSAL checks non-Azure authorities with Azure's public instance discovery, which a private authority fails.
        ...(endpoints.customAuthority ? { disableInstanceDiscovery: true } : {}),
        ...tlsOptions,
      });
    const common = { endpoint: endpoints.resourceManager, retryOptions: { maxRetries: 0 }, ...tlsOptions };
    this.compute = new ComputeManagementClient(this.credential, config.subscriptionId, { ...common, credentials: { scopes: [endpoints.scope] } });
    // The classic network client sends requests to $host and asks tokens for `${endpoint}/.default` unless told.
    this.network = new NetworkManagementClient(this.credential, config.subscriptionId, { ...common, $host: endpoints.resourceManager, credentialScopes: [endpoints.scope] });
    this.rg = config.resourceGroupName;
    this.name = config.name;
  }

  private run<T>(context: string, call: (abortSignal: AbortSignal | undefined) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { retry, clock, logger } = this.options;
    return withRetry(context, () => call(signal), { policy: retry, clock, logger, signal });
  }

  /** A token for Resource Manager (resolves the credential chain); its errors name the credential that failed. */
  async authorize(signal?: AbortSignal): Promise<void> {
    try {
      await this.credential.getToken(this.options.endpoints.scope, signal ? { abortSignal: signal } : {});
    } catch (err) {
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw new RunnerError('auth_failed', `getting a token for ${this.options.endpoints.scope}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** virtualMachineScaleSets.get; undefined when the scale set does not exist. */
  async getScaleSet(signal?: AbortSignal): Promise<ScaleSetView | undefined> {
    try {
      const ss = await this.run('getting scale set', (abortSignal) => this.compute.virtualMachineScaleSets.get(this.rg, this.name, { abortSignal }), signal);
      return {
        capacity: Number(ss.sku?.capacity ?? 0),
        orchestrationMode: str(ss.orchestrationMode) || 'Uniform',
        provisioningState: str(ss.provisioningState),
        location: str(ss.location),
        adminUsername: str(ss.virtualMachineProfile?.osProfile?.adminUsername),
        overprovision: ss.overprovision === true,
      };
    } catch (err) {
      if (err instanceof RunnerError && err.code === 'not_found') return undefined;
      throw err;
    }
  }

  /** virtualMachineScaleSetVMs.list with the instance view, every page. */
  async listVms(signal?: AbortSignal): Promise<VmView[]> {
    return this.run(
      'listing scale set VMs',
      async (abortSignal) => {
        const out: VmView[] = [];
        for await (const vm of this.compute.virtualMachineScaleSetVMs.list(this.rg, this.name, { expand: 'instanceView', abortSignal })) {
          out.push({
            name: str(vm.name),
            instanceId: str(vm.instanceId),
            vmId: str(vm.vmId),
            provisioningState: str(vm.provisioningState),
            statuses: (vm.instanceView?.statuses ?? []).map((s) => str(s.code)),
            osType: str(vm.storageProfile?.osDisk?.osType),
            adminUsername: str(vm.osProfile?.adminUsername),
            vmSize: str(vm.hardwareProfile?.vmSize) || str(vm.sku?.name),
          });
        }
        return out.filter((v) => v.name !== '' && v.instanceId !== '');
      },
      signal,
    );
  }

  /** PATCH `sku.capacity`, waited for (a failed operation is an error). */
  async setCapacity(capacity: number, signal?: AbortSignal): Promise<void> {
    await this.run(
      `setting capacity to ${capacity}`,
      (abortSignal) => this.compute.virtualMachineScaleSets.update(this.rg, this.name, { sku: { capacity } }, { abortSignal, updateIntervalInMs: this.options.pollIntervalMs }),
      signal,
    );
  }

  /** POST …/delete with the instance ids, waited for. */
  async deleteInstances(instanceIds: readonly string[], signal?: AbortSignal): Promise<void> {
    await this.run(
      `deleting instances ${instanceIds.join(', ')}`,
      (abortSignal) => this.compute.virtualMachineScaleSets.deleteInstances(this.rg, this.name, { instanceIds: [...instanceIds] }, { abortSignal, updateIntervalInMs: this.options.pollIntervalMs }),
      signal,
    );
  }

  /** The VM's private and public IP: its network interfaces, then the public address of the primary IP configuration. */
  async addresses(instanceId: string, signal?: AbortSignal): Promise<VmAddresses> {
    const nics = await this.run(
      `listing network interfaces of instance ${instanceId}`,
      async (abortSignal) => {
        const out = [];
        for await (const n of this.network.networkInterfaces.listVirtualMachineScaleSetVMNetworkInterfaces(this.rg, this.name, instanceId, { abortSignal })) out.push(n);
        return out;
      },
      signal,
    );
    const nic = nics.find((n) => n.primary === true) ?? nics[0];
    const cfg = nic?.ipConfigurations?.find((c) => c.primary === true) ?? nic?.ipConfigurations?.[0];
    const privateIp = str(cfg?.privateIPAddress);
    const pipId = str(cfg?.publicIPAddress?.id);
    // MR !3 upstream: scale sets without public addresses are fine.
    if (!pipId) return { privateIp, publicIp: '' };
    const m = /\/virtualMachines\/([^/]+)\/networkInterfaces\/([^/]+)\/ipConfigurations\/([^/]+)\/publicIPAddresses\/([^/]+)$/i.exec(pipId);
    if (!m) return { privateIp, publicIp: '' };
    const pip = await this.run(
      `getting the public address of instance ${instanceId}`,
      (abortSignal) => this.network.publicIPAddresses.getVirtualMachineScaleSetPublicIPAddress(this.rg, this.name, m[1]!, m[2]!, m[3]!, m[4]!, { abortSignal }),
      signal,
    );
    return { privateIp, publicIp: str(pip.ipAddress) };
  }
}
