/** What a Virtual Machine Scale Set of the stand-in is made of. Sizes are VM counts, times milliseconds. */
export interface ScaleSetSpec {
  /** The scale set's name. */
  name: string;
  /** Default: the stand-in's resource group. */
  resourceGroup?: string;
  /** Default 0 (`sku.capacity`). */
  capacity?: number;
  /**
   * Most VMs the subscription's quota allows in this scale set (the `max=N` of the command line); default 10. A
   * capacity beyond it is refused with 409 `OperationNotAllowed` (quota exceeded), as Azure does for cores.
   */
  quota?: number;
  /** The admin user of the model's `osProfile`; default `azureuser`. */
  adminUsername?: string;
  /** The admin password of the model (static credentials); default none (only keys). */
  adminPassword?: string;
  /** `ssh-ed25519 …`/`ssh-rsa …` lines in `osProfile.linuxConfiguration.ssh.publicKeys` for the admin user. */
  publicKeys?: string[];
  /** `Uniform` (default) or `Flexible` (the VMSS-VMs API refuses it, as Azure does). */
  orchestrationMode?: 'Uniform' | 'Flexible';
  /** `Linux` (default) or `Windows` (`osType` of the OS disk). */
  osType?: 'Linux' | 'Windows';
  /** Give VMs a public address (a `publicIPAddressConfiguration` in the model); default true. */
  publicIp?: boolean;
  /** Slow provisioning: a VM stays `Creating` this long after its SSH server is up; default 0. */
  bootDelayMs?: number;
  /** Default `eastus`. */
  location?: string;
  /** Default `Standard_D2s_v5`, or `Standard_D2ps_v5` (Arm64) on an arm64 machine. */
  vmSize?: string;
}

/** `provisioningState` values the stand-in's VMs go through. */
export type ProvisioningState = 'Creating' | 'Succeeded' | 'Failed' | 'Deleting';

/** `PowerState/<x>` of a VM's instance view. */
export type PowerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'deallocated';

/** One scale-set VM as the stand-in keeps it. */
export interface Vm {
  /** `0`, `1`… never reused within a scale set. */
  instanceId: string;
  /** `<scale set>_<instanceId>`. */
  name: string;
  /** A UUID; a VM made again gets a new one. */
  vmId: string;
  computerName: string;
  provisioningState: ProvisioningState;
  power: PowerState;
  /** Error code and message of a failed provisioning. */
  failure?: { code: string; message: string };
  privateIp?: string;
  publicIp?: string;
  createdAt: number;
  /** The local-plugin machine behind it. */
  backendId?: string;
  /** When its SSH server started answering. */
  upAt?: number;
}

/** A scale set as the stand-in keeps it. */
export interface ScaleSet {
  name: string;
  resourceGroup: string;
  /** `sku.capacity`. */
  capacity: number;
  uniqueId: string;
  createdAt: number;
  spec: Required<Omit<ScaleSetSpec, 'name' | 'resourceGroup' | 'capacity' | 'adminPassword'>> & { adminPassword: string | undefined };
  /** VMs in creation order (deleted ones leave the list). */
  vms: Vm[];
  nextInstanceId: number;
  provisioningState: 'Succeeded' | 'Updating';
}

/** An asynchronous operation (the `Azure-AsyncOperation` and `Location` URLs point at it). */
export interface AsyncOperation {
  /** A UUID. */
  id: string;
  location: string;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: number;
  endTime?: number;
  /** When it finishes (ms on the stand-in's clock). */
  doneAt: number;
  /** Runs when it finishes; a returned error makes it Failed. */
  complete?: () => { code: string; message: string } | undefined;
  error?: { code: string; message: string };
}
