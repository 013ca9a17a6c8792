import type { InstanceState } from '@fleetrunner/fleeting';

/** A scale-set VM as the plugin uses it (from the VMs list with its instance view). */
export interface VmView {
  /** `<scale set>_<instanceId>`: the fleeting instance id. */
  name: string;
  /** `0`, `1`… (what deleteInstances takes). */
  instanceId: string;
  /** A UUID per VM. */
  vmId: string;
  /** `Creating`, `Updating`, `Succeeded`, `Failed`, `Deleting`… ('' when absent). */
  provisioningState: string;
  /** The instance view's status codes (`ProvisioningState/succeeded`, `PowerState/running`…). */
  statuses: string[];
  /** `Linux` or `Windows` ('' when absent). */
  osType: string;
  /** The model's admin user. */
  adminUsername: string;
  /** The VM size (`Standard_D2ps_v5`…). */
  vmSize: string;
}

/**
 * The fleeting state of a scale-set VM:
 * - `Deleting` → deleting;
 * - `Failed` (or a `ProvisioningState/failed/…` status) → timeout, so that the host deletes it;
 * - `PowerState/running` with `Succeeded` → running;
 * - `PowerState/stopped`, `deallocated`, `deallocating`, or `stopping` outside a deletion → timeout (stopped under
 *   the runner: its jobs are lost);
 * - everything else (`Creating`, `Updating`, starting, no power state yet) → creating.
 */
export function instanceState(vm: VmView): InstanceState {
  const power = vm.statuses.find((s) => s.startsWith('PowerState/'))?.slice('PowerState/'.length) ?? '';
  if (vm.provisioningState === 'Deleting' || vm.statuses.includes('ProvisioningState/deleting')) return 'deleting';
  if (vm.provisioningState === 'Failed' || vm.statuses.some((s) => s.startsWith('ProvisioningState/failed'))) return 'timeout';
  if (['stopped', 'deallocated', 'deallocating', 'stopping'].includes(power)) return 'timeout';
  if (power === 'running' && vm.provisioningState === 'Succeeded') return 'running';
  return 'creating';
}

/** The GOOS-style OS from the OS disk's `osType`. */
export function osOf(osType: string): string {
  return osType.toLowerCase() === 'windows' ? 'windows' : 'linux';
}

/** The GOARCH-style architecture from the VM size: Azure's Arm64 sizes carry a `p` feature letter (`D2ps_v5`, `E4pds_v6`). */
export function archOf(vmSize: string): string {
  const m = /^(?:Standard|Basic)_[A-Z]+\d+(-\d+)?([a-z]*)_v\d+$/.exec(vmSize);
  return m && m[2]!.includes('p') ? 'arm64' : 'amd64';
}
