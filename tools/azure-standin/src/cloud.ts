import { randomUUID } from 'node:crypto';
import { toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { generateHostKey, parseSshPublicKey, releaseAddresses, startGateway, stopMachine, type AddressPool, type Backend, type Gateway } from '@fleetrunner/standin-kit';
import { ArmError, invalidParameter, resourceNotFound } from './api/errors.js';
import type { AsyncOperation, ScaleSet, ScaleSetSpec, Vm } from './model.js';

/** Options of {@link AzureCloud}. Times are milliseconds. */
export interface AzureCloudOptions {
  subscriptionId: string;
  /** Resource group of scale sets whose spec names none. */
  resourceGroup: string;
  clock: Clock;
  logger: Logger;
  backend: Backend;
  privateAddresses: AddressPool;
  publicAddresses: AddressPool;
  /** Port of every VM's SSH server. */
  sshPort: number;
  /** How long after its call an asynchronous operation is done (InProgress until then); default 0 = the next round. */
  operationDelayMs: number;
}

/** The largest capacity of a scale set (Azure's limit with platform images). */
export const MAX_CAPACITY = 1000;

/** The failure of an operation to inject (default: allocation failed). */
export function allocationFailure(code?: unknown, message?: unknown): { code: string; message: string } {
  return {
    code: typeof code === 'string' && code ? code : 'AllocationFailed',
    message:
      typeof message === 'string' && message
        ? message
        : 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance',
  };
}

/**
 * The stand-in's Azure: Virtual Machine Scale Sets (Uniform), their VMs, and asynchronous operations. API calls
 * change the model at once and return an operation; {@link AzureCloud.tick}, which the server runs in a loop,
 * finishes operations and moves VMs along (machines started, SSH servers opened, deleted machines killed).
 */
export class AzureCloud {
  /** By `<resource group lowercased>/<name lowercased>` (ARM names are case-insensitive). */
  readonly scaleSets = new Map<string, ScaleSet>();
  readonly operations = new Map<string, AsyncOperation>();
  /** Operations to fail: the next capacity changes end with these errors. */
  readonly failOperations: { code: string; message: string }[] = [];
  private readonly gateways = new Map<Vm, Gateway>();
  private readonly toKill = new Set<string>();

  constructor(readonly options: AzureCloudOptions) {}

  private key(resourceGroup: string, name: string): string {
    return `${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
  }

  /** Creates or replaces a scale set (its VMs are kept when replacing). */
  putScaleSet(spec: ScaleSetSpec): ScaleSet {
    if (typeof spec.name !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(spec.name)) {
      throw new Error(`scale set name ${JSON.stringify(spec.name)}: letters, digits, '-', '_' and '.', at most 64`);
    }
    for (const k of ['capacity', 'quota', 'bootDelayMs'] as const) {
      const v = spec[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`scale set ${spec.name}: ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    const resourceGroup = spec.resourceGroup ?? this.options.resourceGroup;
    const old = this.scaleSets.get(this.key(resourceGroup, spec.name));
    const ss: ScaleSet = {
      name: spec.name,
      resourceGroup,
      capacity: spec.capacity ?? old?.capacity ?? 0,
      uniqueId: old?.uniqueId ?? randomUUID(),
      createdAt: old?.createdAt ?? this.options.clock.now(),
      spec: {
        quota: spec.quota ?? 10,
        adminUsername: spec.adminUsername ?? 'azureuser',
        adminPassword: spec.adminPassword,
        publicKeys: spec.publicKeys ?? [],
        orchestrationMode: spec.orchestrationMode ?? 'Uniform',
        osType: spec.osType ?? 'Linux',
        publicIp: spec.publicIp ?? true,
        bootDelayMs: spec.bootDelayMs ?? 0,
        location: spec.location ?? 'eastus',
        vmSize: spec.vmSize ?? (process.arch === 'arm64' ? 'Standard_D2ps_v5' : 'Standard_D2s_v5'),
      },
      vms: old?.vms ?? [],
      nextInstanceId: old?.nextInstanceId ?? 0,
      provisioningState: 'Succeeded',
    };
    for (const line of ss.spec.publicKeys) if (!parseSshPublicKey(line)) throw new Error(`scale set ${spec.name}: not an SSH public key: ${JSON.stringify(line)}`);
    this.scaleSets.set(this.key(resourceGroup, spec.name), ss);
    return ss;
  }

  /** The scale set, or 404 ResourceNotFound. */
  scaleSet(resourceGroup: string, name: string): ScaleSet {
    const ss = this.scaleSets.get(this.key(resourceGroup, name));
    if (!ss) throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets', name, resourceGroup);
    return ss;
  }

  /** A VM of a scale set, or 404 as Azure answers for a scale-set VM. */
  vm(ss: ScaleSet, instanceId: string): Vm {
    const vm = ss.vms.find((v) => v.instanceId === instanceId);
    if (!vm) throw resourceNotFound('Microsoft.Compute/virtualMachineScaleSets/virtualMachines', `${ss.name}/${instanceId}`, ss.resourceGroup);
    return vm;
  }

  /** A new operation, done `operationDelayMs` from now (then `complete` runs). */
  operation(location: string, complete?: AsyncOperation['complete']): AsyncOperation {
    const now = this.options.clock.now();
    const op: AsyncOperation = { id: randomUUID(), location, status: 'InProgress', startTime: now, doneAt: now + this.options.operationDelayMs, ...(complete ? { complete } : {}) };
    this.operations.set(op.id, op);
    return op;
  }

  findOperation(id: string): AsyncOperation {
    const op = this.operations.get(id.toLowerCase());
    if (!op) throw new ArmError(404, 'NotFound', `The operation '${id}' was not found.`);
    return op;
  }

  /**
   * PATCH of the scale set: `sku.capacity` (the only property the stand-in changes; others are accepted and
   * ignored). Capacity beyond the quota is refused at once (409 OperationNotAllowed), beyond 1000 with 400.
   * Returns the operation, or undefined when nothing changes (a synchronous answer).
   */
  update(ss: ScaleSet, body: Record<string, unknown>): AsyncOperation | undefined {
    const sku = body.sku as { capacity?: unknown } | undefined;
    if (sku === undefined || sku.capacity === undefined) return undefined;
    const capacity = sku.capacity;
    if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 0 || capacity > MAX_CAPACITY) {
      throw invalidParameter(`The value ${JSON.stringify(capacity)} of parameter 'sku.capacity' is out of range. The value must be between '0' and '${MAX_CAPACITY}', inclusive.`, 'sku.capacity');
    }
    if (capacity > ss.spec.quota) {
      const used = ss.vms.filter((v) => v.provisioningState !== 'Deleting').length;
      throw new ArmError(
        409,
        'OperationNotAllowed',
        `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Additional details - Deployment Model: Resource Manager, Location: ${ss.spec.location}, Current Limit: ${ss.spec.quota * 2}, Current Usage: ${used * 2}, Additional Required: ${(capacity - used) * 2}, (Minimum) New Limit Required: ${capacity * 2}. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/ by specifying parameters listed in the 'Details' section for deployment to succeed.`,
      );
    }
    const failure = this.failOperations.shift();
    const before = ss.capacity;
    if (!failure) ss.capacity = capacity;
    ss.provisioningState = 'Updating';
    return this.operation(ss.spec.location, () => {
      ss.provisioningState = 'Succeeded';
      if (failure) {
        ss.capacity = before;
        return failure;
      }
      return undefined;
    });
  }

  /** POST …/delete: the VMs go Deleting at once and capacity shrinks with them. Unknown ids are refused (400). */
  deleteInstances(ss: ScaleSet, instanceIds: readonly string[]): AsyncOperation {
    const picked: Vm[] = [];
    for (const id of instanceIds) {
      const vm = ss.vms.find((v) => v.instanceId === id);
      if (!vm) throw invalidParameter(`The provided instanceId ${id} is not an active Virtual Machine Scale Set VM instanceId.`, 'instanceIds');
      picked.push(vm);
    }
    for (const vm of picked) {
      if (vm.provisioningState === 'Deleting') continue;
      ss.capacity = Math.max(0, ss.capacity - 1);
      this.beginDeletion(vm);
    }
    return this.operation(ss.spec.location);
  }

  /** Someone deleted a VM behind the runner's back (portal, `az vmss delete-instances`): it is gone at once, capacity one less. */
  deleteOutOfBand(resourceGroup: string, name: string, instanceId: string): Vm {
    const ss = this.scaleSet(resourceGroup, name);
    const vm = this.vm(ss, instanceId);
    this.stopMachine(vm);
    this.releaseAddresses(vm);
    ss.vms = ss.vms.filter((v) => v !== vm);
    ss.capacity = Math.max(0, ss.capacity - 1);
    this.options.logger.info('VM deleted out of band', { scaleSet: ss.name, instanceId });
    return vm;
  }

  /** Whether `user` may log in to the VM with the public key `blob`: the model's admin user and keys. */
  keyAllowed(ss: ScaleSet, user: string, blob: Buffer): boolean {
    return user === ss.spec.adminUsername && ss.spec.publicKeys.some((l) => parseSshPublicKey(l)?.blob.equals(blob) === true);
  }

  /** Whether `user` may log in with `password`: the model's admin user and password. */
  passwordAllowed(ss: ScaleSet, user: string, password: string): boolean {
    return ss.spec.adminPassword !== undefined && user === ss.spec.adminUsername && password === ss.spec.adminPassword;
  }

  /** One round: operations finish, scale sets converge on their capacity, VMs move along. Run serialized. */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    for (const op of this.operations.values()) {
      if (op.status !== 'InProgress' || op.doneAt > now) continue;
      const err = op.complete?.();
      op.status = err ? 'Failed' : 'Succeeded';
      op.endTime = now;
      if (err) op.error = err;
    }
    for (const ss of this.scaleSets.values()) this.converge(ss, now);
    for (const id of [...this.toKill]) {
      this.toKill.delete(id);
      await this.options.backend.terminate(id).catch((err: unknown) => this.options.logger.warn('killing machine failed', { id, error: toRunnerError(err).message }));
    }
    const all = [...this.scaleSets.values()].flatMap((ss) => ss.vms.map((vm) => [ss, vm] as const));
    const machines = all.some(([, vm]) => vm.backendId) ? await this.options.backend.states() : new Map<string, string>();
    for (const [ss, vm] of all) await this.advance(ss, vm, vm.backendId ? machines.get(vm.backendId) : undefined, now);
    for (const [id, op] of this.operations) if (op.endTime !== undefined && now - op.endTime > 3_600_000) this.operations.delete(id);
  }

  /** Stops every VM's SSH server. */
  async shutdown(): Promise<void> {
    for (const gw of this.gateways.values()) gw.close();
    this.gateways.clear();
  }

  private converge(ss: ScaleSet, now: number): void {
    if (ss.spec.orchestrationMode !== 'Uniform') return;
    const live = ss.vms.filter((v) => v.provisioningState !== 'Deleting');
    for (let n = live.length; n < ss.capacity; n++) {
      const id = ss.nextInstanceId++;
      ss.vms.push({
        instanceId: String(id),
        name: `${ss.name}_${id}`,
        vmId: randomUUID(),
        computerName: `${ss.name.replace(/[^A-Za-z0-9-]/g, '').slice(0, 9)}${id.toString(36).padStart(6, '0')}`,
        provisioningState: 'Creating',
        power: 'starting',
        createdAt: now,
      });
    }
    // A lower capacity removes the newest VMs (the default scale-in policy removes the highest instance ids).
    for (const vm of live.slice(ss.capacity).reverse()) this.beginDeletion(vm);
  }

  private async advance(ss: ScaleSet, vm: Vm, machine: string | undefined, now: number): Promise<void> {
    if (vm.provisioningState === 'Deleting') {
      if (!vm.backendId || machine === undefined) {
        ss.vms = ss.vms.filter((v) => v !== vm);
        this.releaseAddresses(vm);
        this.options.logger.info('VM deleted', { scaleSet: ss.name, instanceId: vm.instanceId });
      }
      return;
    }
    if (vm.provisioningState === 'Failed' || vm.power === 'stopped') return;
    if (vm.backendId === undefined) {
      await this.create(ss, vm);
      return;
    }
    if (machine === undefined || machine === 'timeout' || machine === 'deleting') {
      // The host under the VM failed: Azure reports it stopped; nothing recreates it.
      this.options.logger.warn('the machine behind a VM failed', { scaleSet: ss.name, instanceId: vm.instanceId, machine: vm.backendId, state: machine ?? 'gone' });
      this.stopMachine(vm);
      vm.power = 'stopped';
      return;
    }
    if (vm.provisioningState === 'Succeeded' || machine !== 'running') return;
    if (!this.gateways.has(vm)) {
      try {
        await this.openGateway(ss, vm);
        // Deleted while its SSH server was starting: that server goes too.
        if (vm.provisioningState !== 'Creating' || !ss.vms.includes(vm)) {
          this.gateways.get(vm)?.close();
          this.gateways.delete(vm);
          return;
        }
        vm.upAt = now;
      } catch (err) {
        this.options.logger.warn('starting the SSH server of a VM failed', { instanceId: vm.instanceId, error: toRunnerError(err).message });
        this.fail(vm, 'VMAgentStatusCommunicationError', `VM '${vm.name}' did not start in the allotted time: ${toRunnerError(err).message}`);
        return;
      }
    }
    if (vm.upAt !== undefined && now >= vm.upAt + ss.spec.bootDelayMs) {
      vm.provisioningState = 'Succeeded';
      vm.power = 'running';
      this.options.logger.info('VM running', { scaleSet: ss.name, instanceId: vm.instanceId });
    }
  }

  private fail(vm: Vm, code: string, message: string): void {
    this.stopMachine(vm);
    vm.provisioningState = 'Failed';
    vm.power = 'stopped';
    vm.failure = { code, message };
  }

  private async create(ss: ScaleSet, vm: Vm): Promise<void> {
    const privateIp = this.options.privateAddresses.take();
    const publicIp = privateIp && ss.spec.publicIp ? this.options.publicAddresses.take() : undefined;
    if (!privateIp || (ss.spec.publicIp && !publicIp)) {
      if (privateIp) this.options.privateAddresses.release(privateIp);
      this.fail(vm, 'SubnetIsFull', `Subnet default with address prefix 10.0.0.0/24 does not have enough capacity for 1 IP addresses.`);
      return;
    }
    vm.privateIp = privateIp;
    if (publicIp) vm.publicIp = publicIp;
    try {
      const id = await this.options.backend.launch();
      // Deleted (or scaled in) while its machine was starting: the machine goes too.
      if (vm.provisioningState !== 'Creating' || !ss.vms.includes(vm)) {
        this.toKill.add(id);
        return;
      }
      vm.backendId = id;
      this.options.logger.info('VM created', { scaleSet: ss.name, instanceId: vm.instanceId, machine: vm.backendId, address: privateIp });
    } catch (err) {
      this.options.logger.warn('creating a VM failed', { instanceId: vm.instanceId, error: toRunnerError(err).message });
      this.releaseAddresses(vm);
      this.fail(vm, 'AllocationFailed', `Allocation failed: ${toRunnerError(err).message}`);
    }
  }

  private async openGateway(ss: ScaleSet, vm: Vm): Promise<void> {
    const bid = vm.backendId!;
    const gw = await startGateway({
      instanceId: vm.name,
      addresses: [vm.privateIp!, ...(vm.publicIp ? [vm.publicIp] : [])],
      port: this.options.sshPort,
      hostKey: generateHostKey(),
      allows: (user, blob) => this.keyAllowed(ss, user, blob),
      allowsPassword: (user, password) => this.passwordAllowed(ss, user, password),
      upstream: () => this.options.backend.upstream(bid),
      logger: this.options.logger,
    });
    this.gateways.set(vm, gw);
  }

  private beginDeletion(vm: Vm): void {
    vm.provisioningState = 'Deleting';
    vm.power = 'stopping';
    this.stopMachine(vm);
    this.options.logger.info('VM deleting', { name: vm.name });
  }

  private stopMachine(vm: Vm): void {
    stopMachine(vm, vm, this.gateways, this.toKill);
  }

  private releaseAddresses(vm: Vm): void {
    releaseAddresses(vm, this.options.privateAddresses, this.options.publicAddresses);
  }
}
