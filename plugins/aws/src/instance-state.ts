import type { InstanceState } from '@fleetrunner/fleeting';
import type { Ec2View } from './aws-api.js';

/**
 * The fleeting state of an instance from its Auto Scaling lifecycle state and health and, when EC2 reported it,
 * its EC2 state and address:
 * - gone (`terminated`, `Terminated`, `Detached`) → deleted; on its way out (`shutting-down`, `Terminating*`,
 *   `Detaching`) → deleting;
 * - out of service and not coming back by itself (`stopping`/`stopped`, `Unhealthy`, `Quarantined`, `Standby`,
 *   warm pool states) → timeout, so the host replaces it;
 * - `InService`, EC2 `running` with a private address → running; everything before that → creating.
 */
export function instanceState(lifecycle: string, health: string, ec2: Ec2View | undefined): InstanceState {
  const state = ec2?.state ?? '';
  if (state === 'terminated' || lifecycle === 'Terminated' || lifecycle === 'Detached') return 'deleted';
  if (state === 'shutting-down' || lifecycle.startsWith('Terminating') || lifecycle === 'Detaching') return 'deleting';
  if (state === 'stopping' || state === 'stopped' || health === 'Unhealthy') return 'timeout';
  if (lifecycle === 'Quarantined' || lifecycle === 'Standby' || lifecycle === 'EnteringStandby' || lifecycle.startsWith('Warmed')) return 'timeout';
  if (lifecycle === 'InService' && state === 'running' && ec2?.privateIp) return 'running';
  return 'creating';
}

/** The GOOS-style name of an instance's OS from its EC2 platform and architecture. */
export function osOf(ec2: Ec2View): string {
  if (ec2.architecture.endsWith('_mac')) return 'darwin';
  return ec2.platform.toLowerCase() === 'windows' ? 'windows' : 'linux';
}

/** The GOARCH-style name of an EC2 architecture ('' when unknown). */
export function archOf(ec2: Ec2View): string {
  switch (ec2.architecture) {
    case 'i386':
      return '386';
    case 'x86_64':
    case 'x86_64_mac':
      return 'amd64';
    case 'arm64':
    case 'arm64_mac':
      return 'arm64';
    default:
      return '';
  }
}
