import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand, TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client, GetPasswordDataCommand } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient, SendSSHPublicKeyCommand } from '@aws-sdk/client-ec2-instance-connect';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { RunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { AwsConfig } from './config.js';
import { withRetry, type RetryPolicy } from './retry.js';

/** An Auto Scaling group as the plugin uses it. */
export interface GroupView {
  name: string;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  newInstancesProtected: boolean;
  suspendedProcesses: string[];
  instances: { id: string; lifecycle: string; health: string; availabilityZone: string }[];
}

/** An EC2 instance as the plugin uses it. */
export interface Ec2View {
  id: string;
  /** `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`. */
  state: string;
  privateIp: string;
  publicIp: string;
  availabilityZone: string;
  /** `windows` or ''. */
  platform: string;
  /** `x86_64`, `arm64`, `i386`, `x86_64_mac`, `arm64_mac`. */
  architecture: string;
}

/** Options of {@link AwsApi}. */
export interface AwsApiOptions {
  config: AwsConfig;
  region: string;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
}

/** EC2 accepts at most 200 values per filter. */
const FILTER_CHUNK = 200;

/**
 * The AWS calls of the plugin over the three SDK clients, with one credential chain, throttling retries on the
 * injected clock, abort signals passed to the SDK, and results narrowed to plugin-side shapes. The SDK's own retries
 * are off so that backoff is decided (and testable) in one place. The endpoint comes from the SDK environment
 * (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_EC2`…).
 */
export class AwsApi {
  private readonly autoscaling: AutoScalingClient;
  private readonly ec2: EC2Client;
  private readonly connect: EC2InstanceConnectClient;

  constructor(private readonly options: AwsApiOptions) {
    const { config, region } = options;
    // The pinned SDK release supports Node 20; its notice that later releases will not is no news to the host.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const credentials = defaultProvider({
      ...(config.profile ? { profile: config.profile } : {}),
      ...(config.credentialsFile ? { filepath: config.credentialsFile } : {}),
      ...(config.configFile ? { configFilepath: config.configFile } : {}),
    });
    const common = { region, credentials, maxAttempts: 1, ...(config.profile ? { profile: config.profile } : {}) };
    this.autoscaling = new AutoScalingClient(common);
    this.ec2 = new EC2Client(common);
    this.connect = new EC2InstanceConnectClient(common);
  }

  private run<T>(context: string, call: (abortSignal: AbortSignal | undefined) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { retry, clock, logger } = this.options;
    return withRetry(context, () => call(signal), { policy: retry, clock, logger, signal });
  }

  /** DescribeAutoScalingGroups for one group; undefined when it does not exist. */
  async describeGroup(name: string, signal?: AbortSignal): Promise<GroupView | undefined> {
    const out = await this.run('describing auto scaling group', (abortSignal) => this.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }), { abortSignal }), signal);
    const g = out.AutoScalingGroups?.find((x) => x.AutoScalingGroupName === name);
    if (!g) return undefined;
    return {
      name,
      minSize: g.MinSize ?? 0,
      maxSize: g.MaxSize ?? 0,
      desiredCapacity: g.DesiredCapacity ?? 0,
      newInstancesProtected: g.NewInstancesProtectedFromScaleIn ?? false,
      suspendedProcesses: (g.SuspendedProcesses ?? []).map((p) => p.ProcessName ?? '').filter(Boolean),
      instances: (g.Instances ?? [])
        .filter((i) => i.InstanceId)
        .map((i) => ({ id: i.InstanceId!, lifecycle: i.LifecycleState ?? '', health: i.HealthStatus ?? '', availabilityZone: i.AvailabilityZone ?? '' })),
    };
  }

  /** SetDesiredCapacity, ignoring cooldowns (the plugin is the group's only scaler). */
  async setDesiredCapacity(name: string, desired: number, signal?: AbortSignal): Promise<void> {
    await this.run(
      `setting desired capacity of ${name} to ${desired}`,
      (abortSignal) => this.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: desired, HonorCooldown: false }), { abortSignal }),
      signal,
    );
  }

  /** TerminateInstanceInAutoScalingGroup, shrinking the desired capacity with it. */
  async terminateInstance(id: string, signal?: AbortSignal): Promise<void> {
    await this.run(
      `terminating instance ${id}`,
      (abortSignal) => this.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: true }), { abortSignal }),
      signal,
    );
  }

  /**
   * DescribeInstances of `ids` through an `instance-id` filter (ids EC2 no longer knows are left out rather than
   * failing the call), in chunks, following NextToken.
   */
  async describeInstances(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, Ec2View>> {
    const out = new Map<string, Ec2View>();
    for (let at = 0; at < ids.length; at += FILTER_CHUNK) {
      const chunk = ids.slice(at, at + FILTER_CHUNK);
      let token: string | undefined;
      do {
        const page = await this.run(
          'describing instances',
          (abortSignal) =>
            this.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: chunk }], MaxResults: 1000, ...(token ? { NextToken: token } : {}) }), { abortSignal }),
          signal,
        );
        for (const r of page.Reservations ?? []) {
          for (const i of r.Instances ?? []) {
            if (!i.InstanceId) continue;
            out.set(i.InstanceId, {
              id: i.InstanceId,
              state: i.State?.Name ?? '',
              privateIp: i.PrivateIpAddress ?? '',
              publicIp: i.PublicIpAddress ?? '',
              availabilityZone: i.Placement?.AvailabilityZone ?? '',
              platform: i.Platform ?? '',
              architecture: i.Architecture ?? '',
            });
          }
        }
        token = page.NextToken || undefined;
      } while (token);
    }
    return out;
  }

  /** SendSSHPublicKey: `publicKey` logs `user` in on the instance for 60 seconds. */
  async sendSshPublicKey(input: { id: string; user: string; publicKey: string; availabilityZone: string }, signal?: AbortSignal): Promise<void> {
    const out = await this.run(
      `sending ssh key to ${input.id}`,
      (abortSignal) =>
        this.connect.send(
          new SendSSHPublicKeyCommand({
            InstanceId: input.id,
            InstanceOSUser: input.user,
            SSHPublicKey: input.publicKey,
            ...(input.availabilityZone ? { AvailabilityZone: input.availabilityZone } : {}),
          }),
          { abortSignal },
        ),
      signal,
    );
    if (out.Success === false) throw new RunnerError('plugin_error', `sending ssh key to ${input.id}: the operation did not succeed`);
  }

  /** GetPasswordData: the encrypted Administrator password of a Windows instance ('' until it is available). */
  async passwordData(id: string, signal?: AbortSignal): Promise<string> {
    const out = await this.run(`fetching password data of ${id}`, (abortSignal) => this.ec2.send(new GetPasswordDataCommand({ InstanceId: id }), { abortSignal }), signal);
    return (out.PasswordData ?? '').trim();
  }

  /** Closes the clients' connections. */
  destroy(): void {
    this.autoscaling.destroy();
    this.ec2.destroy();
    this.connect.destroy();
  }
}
