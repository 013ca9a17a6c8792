/** What an Auto Scaling group of the stand-in is made of. Sizes are instance counts, times milliseconds. */
export interface GroupSpec {
  /** AutoScalingGroupName. */
  name: string;
  /** Default 0. */
  minSize?: number;
  /** Default 10. */
  maxSize?: number;
  /** Default `minSize`. */
  desiredCapacity?: number;
  /** `linux` (default) or `windows`: DescribeInstances reports `platform=windows` and GetPasswordData works. */
  platform?: 'linux' | 'windows';
  /** Default: this machine's (`x86_64` or `arm64`). */
  architecture?: 'x86_64' | 'arm64';
  /** Default `t3.micro`. */
  instanceType?: string;
  /** Default `[<region>a]`. Instances are spread over them round-robin. */
  availabilityZones?: string[];
  /** NewInstancesProtectedFromScaleIn; default true (what fleeting needs). */
  protectNewInstances?: boolean;
  /** Give instances a public address too (a second loopback address); default true. */
  publicIp?: boolean;
  /** Report instances as spot instances (`instanceLifecycle=spot`); default false. */
  spot?: boolean;
  /** Slow boots: an instance stays `pending` this long after its SSH server is up; default 0. */
  bootDelayMs?: number;
  /**
   * The EC2 key pair instances are launched with: its public key (an `authorized_keys` line, or a PEM public key)
   * is authorized for every user on the instances, and encrypts Windows passwords (RSA keys only).
   */
  keyPair?: { name: string; publicKey: string };
}

/** EC2 instance states with their API codes. */
export const EC2_STATE_CODES = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 } as const;
export type Ec2State = keyof typeof EC2_STATE_CODES;

/** The Auto Scaling lifecycle states the stand-in goes through. */
export type LifecycleState = 'Pending' | 'InService' | 'Terminating' | 'Terminated';

/** One instance as the stand-in keeps it. */
export interface Instance {
  id: string;
  groupName: string;
  availabilityZone: string;
  instanceType: string;
  platform: 'linux' | 'windows';
  architecture: 'x86_64' | 'arm64';
  spot: boolean;
  keyName?: string;
  privateIp: string;
  publicIp?: string;
  launchTime: number;
  ec2State: Ec2State;
  lifecycle: LifecycleState;
  health: 'Healthy' | 'Unhealthy';
  protectedFromScaleIn: boolean;
  /** Why the instance went away (EC2 StateReason). */
  stateReason?: { code: string; message: string };
  /** The local-plugin instance behind it. */
  backendId?: string;
  /** When its SSH server started answering. */
  upAt?: number;
  terminatedAt?: number;
  /** Spot interruption: terminated out of band at this time. */
  interruptAt?: number;
  /** Windows: the Administrator password (for tests and dry runs to compare with). */
  password?: string;
  /** Windows: the Administrator password, encrypted for the key pair (base64): GetPasswordData. */
  passwordData?: string;
}

/** A group as the stand-in keeps it. */
export interface Group {
  name: string;
  arn: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  createdAt: number;
  spec: Required<Omit<GroupSpec, 'keyPair' | 'name' | 'minSize' | 'maxSize' | 'desiredCapacity'>> & Pick<GroupSpec, 'keyPair'>;
  /** Instances in the group, in launch order; terminated ones stay listed for a while, like in AWS. */
  instances: Instance[];
  /** Round-robin position over the availability zones. */
  nextZone: number;
}

/** Machine architecture in EC2 terms. */
export function hostArchitecture(): 'x86_64' | 'arm64' {
  return process.arch === 'arm64' ? 'arm64' : 'x86_64';
}
