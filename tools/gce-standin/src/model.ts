/** What a managed instance group of the stand-in is made of. Sizes are instance counts, times milliseconds. */
export interface GroupSpec {
  /** The instance group manager's name. */
  name: string;
  /** Default: the stand-in's zone. */
  zone?: string;
  /** Default 0. */
  targetSize?: number;
  /**
   * Instances the project's quota allows in this group (the `max=N` of the command line); default 10. Instances over
   * it stay `CREATING` with a `QUOTA_EXCEEDED` last attempt, as in GCE, until the quota has room.
   */
  quota?: number;
  /** Default: the group name. Instances are named `<base>-<4 letters>`. */
  baseInstanceName?: string;
  /** `linux` (default) or `windows` (a `windows-cloud` license and the `WINDOWS` guest OS feature on the boot disk). */
  platform?: 'linux' | 'windows';
  /** Default: this machine's (`X86_64` or `ARM64`). */
  architecture?: 'X86_64' | 'ARM64';
  /** Give instances an external address (an access config with a `natIP`); default true. */
  externalIp?: boolean;
  /** Slow boots: an instance stays `STAGING` this long after its SSH server is up; default 0. */
  bootDelayMs?: number;
  /** `PAGELESS` (default, as in GCE: maxResults is ignored) or `PAGINATED`. */
  listManagedInstancesResults?: 'PAGELESS' | 'PAGINATED';
}

/** `Instance.status` values the stand-in goes through. */
export type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

/** `ManagedInstance.currentAction` values the stand-in uses. */
export type CurrentAction = 'CREATING' | 'RECREATING' | 'DELETING' | 'NONE';

/** One instance as the stand-in keeps it. */
export interface Instance {
  name: string;
  /** uint64, as a decimal string; a recreated instance gets a new one. */
  id: string;
  zone: string;
  groupName: string;
  currentAction: CurrentAction;
  /** Absent while the MIG has not created the VM yet. */
  status?: InstanceStatus;
  privateIp?: string;
  publicIp?: string;
  metadata: { fingerprint: string; items: { key: string; value: string }[] };
  creationTimestamp: number;
  /** Why the last creation attempt failed (quota). */
  lastAttemptError?: { code: string; message: string };
  /** The local-plugin machine behind it. */
  backendId?: string;
  /** When its SSH server started answering. */
  upAt?: number;
}

/** A group as the stand-in keeps it. */
export interface Group {
  name: string;
  zone: string;
  id: string;
  targetSize: number;
  createdAt: number;
  spec: Required<Omit<GroupSpec, 'name' | 'zone' | 'targetSize'>>;
  /** Members in creation order (deleted ones leave at once). */
  instances: Instance[];
}

/** A zonal operation. */
export interface Operation {
  id: string;
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  targetId: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  insertTime: number;
  startTime: number;
  endTime?: number;
  /** When it finishes (ms on the stand-in's clock); the lifecycle loop completes it then. */
  doneAt: number;
  /** Runs when the operation finishes; a returned error makes it a failed operation. */
  complete?: () => { code: string; message: string } | undefined;
  error?: { errors: { code: string; message: string }[] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

/** Machine architecture in GCE terms. */
export function hostArchitecture(): 'X86_64' | 'ARM64' {
  return process.arch === 'arm64' ? 'ARM64' : 'X86_64';
}
