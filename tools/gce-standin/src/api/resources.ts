import { API_BASE, type GceCloud } from '../cloud.js';
import type { Group, Instance, Operation } from '../model.js';

/** RFC 3339 with milliseconds, as GCE writes timestamps. */
function time(ms: number): string {
  return new Date(ms).toISOString();
}

/** An Operation resource. */
export function operationJson(cloud: GceCloud, op: Operation): Record<string, unknown> {
  const zoneUrl = `${API_BASE}projects/${cloud.options.project}/zones/${op.zone}`;
  return {
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone: zoneUrl,
    operationType: op.operationType,
    targetLink: op.targetLink,
    targetId: op.targetId,
    status: op.status,
    user: 'fleetrunner@' + cloud.options.project + '.iam.gserviceaccount.com',
    progress: op.status === 'DONE' ? 100 : 0,
    insertTime: time(op.insertTime),
    startTime: time(op.startTime),
    ...(op.endTime !== undefined ? { endTime: time(op.endTime) } : {}),
    selfLink: `${zoneUrl}/operations/${op.name}`,
    ...(op.error ? { error: op.error, httpErrorStatusCode: op.httpErrorStatusCode, httpErrorMessage: op.httpErrorMessage } : {}),
  };
}

function count(g: Group, action: string): number {
  return g.instances.filter((i) => i.currentAction === action).length;
}

/** An InstanceGroupManager resource. */
export function groupJson(cloud: GceCloud, g: Group): Record<string, unknown> {
  const project = cloud.options.project;
  const zoneUrl = `${API_BASE}projects/${project}/zones/${g.zone}`;
  const template = `${API_BASE}projects/${project}/global/instanceTemplates/${g.name}-template`;
  const stable = g.instances.every((i) => i.currentAction === 'NONE') && g.instances.length === g.targetSize;
  return {
    kind: 'compute#instanceGroupManager',
    id: g.id,
    creationTimestamp: time(g.createdAt),
    name: g.name,
    zone: zoneUrl,
    instanceTemplate: template,
    versions: [{ instanceTemplate: template, targetSize: { calculated: g.targetSize } }],
    instanceGroup: `${zoneUrl}/instanceGroups/${g.name}`,
    baseInstanceName: g.spec.baseInstanceName,
    fingerprint: 'standin=',
    currentActions: {
      none: count(g, 'NONE'),
      creating: count(g, 'CREATING'),
      creatingWithoutRetries: 0,
      verifying: 0,
      recreating: count(g, 'RECREATING'),
      deleting: count(g, 'DELETING'),
      abandoning: 0,
      restarting: 0,
      refreshing: 0,
      suspending: 0,
      resuming: 0,
      stopping: 0,
      starting: 0,
    },
    status: { isStable: stable, versionTarget: { isReached: true }, stateful: { hasStatefulConfig: false, perInstanceConfigs: { allEffective: true } } },
    targetSize: g.targetSize,
    listManagedInstancesResults: g.spec.listManagedInstancesResults,
    selfLink: `${zoneUrl}/instanceGroupManagers/${g.name}`,
    updatePolicy: { type: 'OPPORTUNISTIC', minimalAction: 'REPLACE', maxSurge: { fixed: 0, calculated: 0 }, maxUnavailable: { fixed: 1, calculated: 1 }, replacementMethod: 'SUBSTITUTE' },
    instanceLifecyclePolicy: { forceUpdateOnRepair: 'NO', defaultActionOnFailure: 'DO_NOTHING' },
  };
}

/** A ManagedInstance entry of listManagedInstances. */
export function managedInstanceJson(cloud: GceCloud, g: Group, i: Instance): Record<string, unknown> {
  return {
    instance: API_BASE + cloud.instancePath(i.zone, i.name),
    id: i.id,
    name: i.name,
    ...(i.status !== undefined ? { instanceStatus: i.status } : {}),
    currentAction: i.currentAction,
    version: { instanceTemplate: `${API_BASE}projects/${cloud.options.project}/global/instanceTemplates/${g.name}-template` },
    ...(i.lastAttemptError ? { lastAttempt: { errors: { errors: [i.lastAttemptError] } } } : {}),
  };
}

/** An Instance resource. */
export function instanceJson(cloud: GceCloud, i: Instance): Record<string, unknown> {
  const project = cloud.options.project;
  const zoneUrl = `${API_BASE}projects/${project}/zones/${i.zone}`;
  const g = cloud.groups.get(`${i.zone}/${i.groupName}`);
  const windows = g?.spec.platform === 'windows';
  const arch = g?.spec.architecture ?? 'X86_64';
  const image = windows ? 'windows-cloud/global/licenses/windows-server-2022-dc' : 'debian-cloud/global/licenses/debian-12-bookworm';
  return {
    kind: 'compute#instance',
    id: i.id,
    creationTimestamp: time(i.creationTimestamp),
    name: i.name,
    machineType: `${zoneUrl}/machineTypes/${arch === 'ARM64' ? 't2a-standard-1' : 'e2-small'}`,
    status: i.status,
    zone: zoneUrl,
    canIpForward: false,
    networkInterfaces: [
      {
        kind: 'compute#networkInterface',
        network: `${API_BASE}projects/${project}/global/networks/default`,
        subnetwork: `${API_BASE}projects/${project}/regions/${i.zone.replace(/-[a-z]$/, '')}/subnetworks/default`,
        ...(i.privateIp ? { networkIP: i.privateIp } : {}),
        name: 'nic0',
        ...(i.publicIp
          ? { accessConfigs: [{ kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: i.publicIp, networkTier: 'PREMIUM' }] }
          : {}),
        fingerprint: 'nic=',
        stackType: 'IPV4_ONLY',
      },
    ],
    disks: [
      {
        kind: 'compute#attachedDisk',
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        source: `${zoneUrl}/disks/${i.name}`,
        deviceName: 'persistent-disk-0',
        index: 0,
        boot: true,
        autoDelete: true,
        licenses: [`${API_BASE}projects/${image}`],
        interface: 'SCSI',
        guestOsFeatures: windows ? [{ type: 'MULTI_IP_SUBNET' }, { type: 'WINDOWS' }, { type: 'VIRTIO_SCSI_MULTIQUEUE' }] : [{ type: 'UEFI_COMPATIBLE' }, { type: 'VIRTIO_SCSI_MULTIQUEUE' }, { type: 'GVNIC' }],
        diskSizeGb: '10',
        architecture: arch,
      },
    ],
    metadata: { kind: 'compute#metadata', fingerprint: i.metadata.fingerprint, items: i.metadata.items },
    serviceAccounts: [],
    selfLink: `${zoneUrl}/instances/${i.name}`,
    scheduling: { onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD' },
    cpuPlatform: 'Intel Broadwell',
    labelFingerprint: '42WmSpB8rSM=',
    startRestricted: false,
    deletionProtection: false,
    fingerprint: 'inst=',
    lastStartTimestamp: time(i.upAt ?? i.creationTimestamp),
  };
}
