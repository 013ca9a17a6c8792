import type { InstanceState } from '@fleetrunner/fleeting';

/** A member of the group as listManagedInstances reports it. */
export interface ManagedView {
  name: string;
  /** uint64 id of the VM (a recreated VM gets a new one); '' before the VM exists. */
  id: string;
  /** `CREATING`, `RECREATING`, `DELETING`, `NONE`, `VERIFYING`… */
  currentAction: string;
  /** `Instance.status` (`PROVISIONING`, `STAGING`, `RUNNING`, `STOPPING`, `TERMINATED`…); '' while absent. */
  instanceStatus: string;
  /** The last creation attempt's first error (`QUOTA_EXCEEDED: …`); '' when none. */
  lastError: string;
}

/** Errors of a creation attempt that the group will not get past by retrying on its own. */
const HOPELESS = /^(QUOTA_EXCEEDED|ZONE_RESOURCE_POOL_EXHAUSTED\w*|IP_SPACE_EXHAUSTED|RESOURCE_NOT_FOUND|PERMISSIONS_ERROR|INVALID_\w+|CONDITION_NOT_MET)\b/;

/**
 * The fleeting state of a member of a managed instance group:
 * - `DELETING`/`ABANDONING` → deleting;
 * - `RECREATING` (the VM was deleted or failed under the group, which replaces it under the same name) → timeout,
 *   so that the host drops it: its jobs were lost and its host key changed;
 * - a creation attempt that failed for want of quota, resources or permissions → timeout (the host deletes it
 *   instead of waiting for its creation timeout);
 * - `NONE` and `RUNNING` → running; `NONE` and stopped, suspended or terminated → timeout;
 * - everything else (`CREATING`, `VERIFYING`, `REFRESHING`, `STARTING`…, no status yet) → creating.
 */
export function instanceState(m: ManagedView): InstanceState {
  const action = m.currentAction;
  if (action === 'DELETING' || action === 'ABANDONING') return 'deleting';
  if (action === 'RECREATING') return 'timeout';
  if (m.lastError !== '' && HOPELESS.test(m.lastError) && (action === 'CREATING' || action === 'CREATING_WITHOUT_RETRIES')) return 'timeout';
  if (action === 'NONE') {
    if (m.instanceStatus === 'RUNNING') return 'running';
    if (['STOPPED', 'STOPPING', 'SUSPENDED', 'SUSPENDING', 'TERMINATED', 'REPAIRING'].includes(m.instanceStatus)) return 'timeout';
  }
  return 'creating';
}

/** The GOOS-style OS of an instance from its boot disk: `windows` with the WINDOWS guest OS feature or a windows-cloud license. */
export function osOf(disks: readonly { guestOsFeatures: string[]; licenses: string[] }[]): string {
  const windows = disks.some((d) => d.guestOsFeatures.includes('WINDOWS') || d.licenses.some((l) => l.includes('/windows-cloud/')));
  return windows ? 'windows' : 'linux';
}

/** The GOARCH-style architecture of an instance from its boot disk (`X86_64`, `ARM64`); '' when unknown. */
export function archOf(architecture: string): string {
  if (architecture === 'X86_64') return 'amd64';
  if (architecture === 'ARM64') return 'arm64';
  return '';
}
