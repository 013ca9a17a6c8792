import type { AzureCloud } from '../cloud.js';
import type { AsyncOperation, ScaleSet, Vm } from '../model.js';

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}`. */
export function scaleSetId(cloud: AzureCloud, ss: ScaleSet): string {
  return `/subscriptions/${cloud.options.subscriptionId}/resourceGroups/${ss.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${ss.name}`;
}

function vmId(cloud: AzureCloud, ss: ScaleSet, vm: Vm): string {
  return `${scaleSetId(cloud, ss)}/virtualMachines/${vm.instanceId}`;
}

const NIC = 'nic';
const IPCONFIG = 'ipconfig';
const PIP = 'pip';

function nicId(cloud: AzureCloud, ss: ScaleSet, vm: Vm): string {
  return `${vmId(cloud, ss, vm)}/networkInterfaces/${ss.name}-${NIC}`;
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '0000+00:00');
}

function osProfile(ss: ScaleSet): Record<string, unknown> {
  const linux = ss.spec.osType === 'Linux';
  return {
    adminUsername: ss.spec.adminUsername,
    ...(linux
      ? {
          linuxConfiguration: {
            disablePasswordAuthentication: ss.spec.adminPassword === undefined,
            ...(ss.spec.publicKeys.length > 0
              ? { ssh: { publicKeys: ss.spec.publicKeys.map((keyData) => ({ path: `/home/${ss.spec.adminUsername}/.ssh/authorized_keys`, keyData })) } }
              : {}),
            provisionVMAgent: true,
            enableVMAgentPlatformUpdates: false,
          },
        }
      : { windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true } }),
    secrets: [],
    allowExtensionOperations: true,
    requireGuestProvisionSignal: true,
  };
}

function storageProfile(ss: ScaleSet, vm?: Vm): Record<string, unknown> {
  const linux = ss.spec.osType === 'Linux';
  return {
    imageReference: linux
      ? { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest', ...(vm ? { exactVersion: '24.04.202411030' } : {}) }
      : { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: '2022-datacenter-azure-edition', version: 'latest' },
    osDisk: {
      osType: ss.spec.osType,
      createOption: 'FromImage',
      caching: 'ReadWrite',
      managedDisk: { storageAccountType: 'Premium_LRS' },
      diskSizeGB: 30,
      ...(vm ? { name: `${ss.name}_${vm.instanceId}_OsDisk_1_${vm.vmId.replace(/-/g, '')}` } : {}),
    },
    diskControllerType: 'SCSI',
  };
}

/** A VirtualMachineScaleSet resource. */
export function scaleSetJson(cloud: AzureCloud, ss: ScaleSet): Record<string, unknown> {
  return {
    name: ss.name,
    id: scaleSetId(cloud, ss),
    type: 'Microsoft.Compute/virtualMachineScaleSets',
    location: ss.spec.location,
    sku: { name: ss.spec.vmSize, tier: 'Standard', capacity: ss.capacity },
    properties: {
      singlePlacementGroup: false,
      orchestrationMode: ss.spec.orchestrationMode,
      ...(ss.spec.orchestrationMode === 'Uniform'
        ? {
            upgradePolicy: { mode: 'Manual' },
            virtualMachineProfile: {
              osProfile: { computerNamePrefix: ss.name.slice(0, 9), ...osProfile(ss) },
              storageProfile: storageProfile(ss),
              networkProfile: {
                networkInterfaceConfigurations: [
                  {
                    name: `${ss.name}-${NIC}`,
                    properties: {
                      primary: true,
                      enableAcceleratedNetworking: false,
                      disableTcpStateTracking: false,
                      dnsSettings: { dnsServers: [] },
                      enableIPForwarding: false,
                      ipConfigurations: [
                        {
                          name: IPCONFIG,
                          properties: {
                            ...(ss.spec.publicIp ? { publicIPAddressConfiguration: { name: PIP, properties: { idleTimeoutInMinutes: 15, ipTagList: [], publicIPAddressVersion: 'IPv4' } } } : {}),
                            primary: true,
                            subnet: { id: `/subscriptions/${cloud.options.subscriptionId}/resourceGroups/${ss.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${ss.resourceGroup}-vnet/subnets/default` },
                            privateIPAddressVersion: 'IPv4',
                          },
                        },
                      ],
                    },
                  },
                ],
              },
              diagnosticsProfile: { bootDiagnostics: { enabled: true } },
              priority: 'Regular',
            },
            overprovision: false,
            doNotRunExtensionsOnOverprovisionedVMs: false,
            scaleInPolicy: { rules: ['Default'], forceDeletion: false },
          }
        : { platformFaultDomainCount: 1 }),
      provisioningState: ss.provisioningState,
      uniqueId: ss.uniqueId,
      timeCreated: time(ss.createdAt),
    },
  };
}

/** The instance view of a VM: provisioning and power state statuses. */
export function instanceViewJson(ss: ScaleSet, vm: Vm): Record<string, unknown> {
  const prov =
    vm.provisioningState === 'Failed' && vm.failure
      ? { code: `ProvisioningState/failed/${vm.failure.code}`, level: 'Error', displayStatus: 'Provisioning failed', message: vm.failure.message }
      : { code: `ProvisioningState/${vm.provisioningState === 'Succeeded' ? 'succeeded' : vm.provisioningState === 'Deleting' ? 'deleting' : 'creating'}`, level: 'Info', displayStatus: `Provisioning ${vm.provisioningState === 'Succeeded' ? 'succeeded' : 'in progress'}` };
  const display: Record<string, string> = { starting: 'VM starting', running: 'VM running', stopping: 'VM stopping', stopped: 'VM stopped', deallocated: 'VM deallocated' };
  return {
    platformUpdateDomain: 0,
    platformFaultDomain: 0,
    computerName: vm.computerName,
    osName: ss.spec.osType === 'Linux' ? 'ubuntu' : 'Windows Server 2022 Datacenter Azure Edition',
    osVersion: ss.spec.osType === 'Linux' ? '24.04' : '10.0.20348',
    vmAgent: { vmAgentVersion: '2.12.0.2', statuses: [{ code: vm.power === 'running' ? 'ProvisioningState/succeeded' : 'ProvisioningState/Unavailable', level: 'Info', displayStatus: vm.power === 'running' ? 'Ready' : 'Not Ready', time: time(vm.upAt ?? vm.createdAt) }] },
    disks: [{ name: `${ss.name}_${vm.instanceId}_OsDisk_1`, statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: time(vm.createdAt) }] }],
    hyperVGeneration: 'V2',
    statuses: [{ ...prov, time: time(vm.upAt ?? vm.createdAt) }, ...(vm.provisioningState === 'Creating' && vm.upAt === undefined ? [] : [{ code: `PowerState/${vm.power}`, level: 'Info', displayStatus: display[vm.power] }])],
  };
}

/** A VirtualMachineScaleSetVM resource (with its instance view when `expand`). */
export function vmJson(cloud: AzureCloud, ss: ScaleSet, vm: Vm, expand: boolean): Record<string, unknown> {
  return {
    name: vm.name,
    id: vmId(cloud, ss, vm),
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: ss.spec.location,
    instanceId: vm.instanceId,
    sku: { name: ss.spec.vmSize, tier: 'Standard' },
    properties: {
      latestModelApplied: true,
      modelDefinitionApplied: 'VirtualMachineScaleSet',
      vmId: vm.vmId,
      ...(expand ? { instanceView: instanceViewJson(ss, vm) } : {}),
      hardwareProfile: { vmSize: ss.spec.vmSize },
      storageProfile: storageProfile(ss, vm),
      osProfile: { computerName: vm.computerName, ...osProfile(ss) },
      networkProfile: { networkInterfaces: [{ id: nicId(cloud, ss, vm) }] },
      diagnosticsProfile: { bootDiagnostics: { enabled: true } },
      provisioningState: vm.provisioningState,
      timeCreated: time(vm.createdAt),
    },
  };
}

/** A scale-set VM's network interface (network api-version 2018-10-01); undefined before it has an address. */
export function nicJson(cloud: AzureCloud, ss: ScaleSet, vm: Vm): Record<string, unknown> | undefined {
  if (!vm.privateIp) return undefined;
  const id = nicId(cloud, ss, vm);
  return {
    name: `${ss.name}-${NIC}`,
    id,
    etag: `W/"${vm.vmId}"`,
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: vm.vmId,
      ipConfigurations: [
        {
          name: IPCONFIG,
          id: `${id}/ipConfigurations/${IPCONFIG}`,
          etag: `W/"${vm.vmId}"`,
          properties: {
            provisioningState: 'Succeeded',
            privateIPAddress: vm.privateIp,
            privateIPAllocationMethod: 'Dynamic',
            ...(vm.publicIp ? { publicIPAddress: { id: `${id}/ipConfigurations/${IPCONFIG}/publicIPAddresses/${PIP}` } } : {}),
            subnet: { id: `/subscriptions/${cloud.options.subscriptionId}/resourceGroups/${ss.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${ss.resourceGroup}-vnet/subnets/default` },
            primary: true,
            privateIPAddressVersion: 'IPv4',
          },
        },
      ],
      dnsSettings: { dnsServers: [], appliedDnsServers: [] },
      macAddress: '00-0D-3A-' + vm.vmId.slice(0, 6).toUpperCase().replace(/(..)(..)(..)/, '$1-$2-$3'),
      enableAcceleratedNetworking: false,
      enableIPForwarding: false,
      primary: true,
      virtualMachine: { id: vmId(cloud, ss, vm) },
    },
  };
}

/** A scale-set VM's public IP address; undefined when it has none. */
export function pipJson(cloud: AzureCloud, ss: ScaleSet, vm: Vm): Record<string, unknown> | undefined {
  if (!vm.publicIp) return undefined;
  const cfg = `${nicId(cloud, ss, vm)}/ipConfigurations/${IPCONFIG}`;
  return {
    name: PIP,
    id: `${cfg}/publicIPAddresses/${PIP}`,
    etag: `W/"${vm.vmId}"`,
    location: ss.spec.location,
    sku: { name: 'Basic' },
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: vm.vmId,
      ipAddress: vm.publicIp,
      publicIPAddressVersion: 'IPv4',
      publicIPAllocationMethod: 'Dynamic',
      idleTimeoutInMinutes: 15,
      ipConfiguration: { id: cfg },
    },
  };
}

/** The body of an Azure-AsyncOperation status URL. */
export function operationJson(op: AsyncOperation): Record<string, unknown> {
  return {
    startTime: time(op.startTime),
    ...(op.endTime !== undefined ? { endTime: time(op.endTime) } : {}),
    status: op.status,
    ...(op.error ? { error: { code: op.error.code, message: op.error.message } } : {}),
    name: op.id,
  };
}

export { NIC, IPCONFIG, PIP };
