import { RunnerError, mapSettled, nullLogger, systemClock, type Clock, type Logger } from '@fleetrunner/common';
import { GroupLifecycle, decreaseGroup, decreaseOutcome, heartbeatFromKnown, increaseCapacity, knownInstance, vanished, type CapacityControl } from '@fleetrunner/fleeting';
import type { CallOptions, ConnectInfo, ConnectorConfig, DecreaseResult, IncreaseResult, InitSettings, InstanceGroup, InstanceState, InstanceStatus, ProviderInfo } from '@fleetrunner/fleeting';
import { AwsApi, type Ec2View } from './aws-api.js';
import { awsErrorShape } from './aws-errors.js';
import { parseAwsConfig, type AwsConfig } from './config.js';
import { archOf, instanceState, osOf } from './instance-state.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { defaultConfigFile, resolveRegion } from './shared-config.js';
import { generateEd25519, publicKeyLineOf } from './ssh-keys.js';
import { VERSION } from './version.js';
import { decryptWindowsPassword } from './windows-password.js';

/** Options of {@link AwsInstanceGroup}. Times are milliseconds. */
export interface AwsInstanceGroupOptions {
  /** Retry backoff, key expiry and password polling run on it. Default: the wall clock. */
  clock?: Clock;
  /** Default: no logging (init's `logger` option takes precedence). */
  logger?: Logger;
  /** Where region and shared config defaults come from (`AWS_REGION`, `AWS_PROFILE`, `AWS_CONFIG_FILE`…). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Retries of throttled and transient calls. Default {@link DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /** How long a key pushed with EC2 Instance Connect works (ConnectInfo.expiresAt). Default 60 000, as in AWS. */
  keyValidityMs?: number;
  /** GetPasswordData polling while a Windows password is not yet available. Default 5000. */
  passwordPollMs?: number;
  /** Longest wait for a Windows password. Default 600 000. */
  passwordTimeoutMs?: number;
}

/** What the last update learned about one instance. */
interface Known {
  state: InstanceState;
  ec2: Ec2View | undefined;
  availabilityZone: string;
}

/** Concurrent TerminateInstanceInAutoScalingGroup calls of one decrease. */
const DECREASE_CONCURRENCY = 4;

/** An Auto Scaling group's desired capacity, up to its MaxSize. */
function desiredCapacity(name: string): CapacityControl<AwsApi> {
  return {
    read: async (api, signal) => {
      const group = await api.describeGroup(name, signal);
      if (!group) throw new RunnerError('not_found', `auto scaling group "${name}" no longer exists`);
      return { current: group.desiredCapacity, max: group.maxSize };
    },
    set: (api, target, signal) => api.setDesiredCapacity(name, target, signal),
    limit: (max, current) => `the group's MaxSize ${max} (desired capacity was ${current})`,
  };
}

/**
 * An instance group over an AWS EC2 Auto Scaling group: capacity through SetDesiredCapacity and
 * TerminateInstanceInAutoScalingGroup, states from DescribeAutoScalingGroups and DescribeInstances, logins through
 * EC2 Instance Connect (or the Windows password). See the package README for plugin_config.
 */
export class AwsInstanceGroup implements InstanceGroup {
  private readonly life = new GroupLifecycle<AwsApi>();
  private config!: AwsConfig;
  private region = '';
  private connector!: ConnectorConfig;
  private logger: Logger;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private readonly retry: RetryPolicy;
  /** The key pushed with EC2 Instance Connect: the connector's, or one made at init. */
  private loginKey: { privateKey: Uint8Array; publicLine: string } | undefined;
  private known = new Map<string, Known>();
  private readonly passwords = new Map<string, string>();

  constructor(private readonly options: AwsInstanceGroupOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.env = options.env ?? process.env;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    this.life.starting(options.signal);
    const warnings: string[] = [];
    const config = parseAwsConfig(settings.pluginConfig, warnings);
    const profile = config.profile ?? (this.env.AWS_PROFILE || 'default');
    const region = config.region ?? (await resolveRegion({ profile, configFile: config.configFile, env: this.env }));
    if (!region) {
      throw new RunnerError(
        'invalid_argument',
        `plugin_config.region: no region configured (set plugin_config.region, AWS_REGION, or region in profile "${profile}" of ${config.configFile ?? defaultConfigFile(this.env)})`,
      );
    }
    this.connector = settings.connector;
    if (!settings.connector.useStaticCredentials) {
      this.loginKey =
        settings.connector.key.length > 0
          ? { privateKey: settings.connector.key, publicLine: publicKeyLineOf(settings.connector.key, 'connector_config key') }
          : ((kp) => ({ privateKey: new TextEncoder().encode(kp.privateKey), publicLine: kp.publicKey }))(generateEd25519(`fleeting-plugin-aws-${config.name}`));
    }
    this.logger = (options.logger ?? this.logger).child({ component: 'plugin-aws', group: config.name, region });
    for (const w of warnings) this.logger.warn(w, {});
    const api = new AwsApi({ config, region, clock: this.clock, logger: this.logger, retry: this.retry });
    try {
      const group = await api.describeGroup(config.name, options.signal);
      if (!group) throw new RunnerError('not_found', `plugin_config.name: auto scaling group "${config.name}" not found in region ${region}`);
      if (group.maxSize < 1) throw new RunnerError('invalid_argument', `plugin_config.name: auto scaling group "${config.name}" has MaxSize ${group.maxSize}; no instance can be created`);
      if (!group.newInstancesProtected) this.logger.warn('new instances are not protected from scale in and should be', {});
      if (!group.suspendedProcesses.includes('AZRebalance')) this.logger.warn('the AZRebalance process is not suspended and should be', {});
      this.known = new Map(group.instances.map((i) => [i.id, { state: 'creating', ec2: undefined, availabilityZone: i.availabilityZone }]));
      this.config = config;
      this.region = region;
      this.life.opened(api);
      this.logger.info('initialized', { max_size: group.maxSize, desired: group.desiredCapacity, instances: group.instances.length });
      return { id: `aws/${region}/${config.name}`, maxSize: group.maxSize, version: VERSION, buildInfo: '', capabilities: [] };
    } catch (err) {
      api.destroy();
      throw RunnerError.wrap('initializing', err);
    }
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    const api = this.ready(options.signal);
    const group = await api.describeGroup(this.config.name, options.signal);
    if (!group) throw new RunnerError('not_found', `auto scaling group "${this.config.name}" no longer exists in region ${this.region}`);
    const ec2 = await api.describeInstances(
      group.instances.map((i) => i.id),
      options.signal,
    );
    const next = new Map<string, Known>();
    const out: InstanceStatus[] = [];
    for (const i of group.instances) {
      const e = ec2.get(i.id);
      const state = instanceState(i.lifecycle, i.health, e);
      next.set(i.id, { state, ec2: e, availabilityZone: e?.availabilityZone || i.availabilityZone });
      out.push({ id: i.id, state });
    }
    // An instance that left the group between two updates (its termination finished) is reported gone once.
    out.push(...vanished(this.known, next));
    for (const id of this.passwords.keys()) if (!next.has(id)) this.passwords.delete(id);
    this.known = next;
    return out;
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    return increaseCapacity(delta, this.life, options.signal, this.logger, desiredCapacity(this.config.name));
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    return decreaseGroup(ids, this.life, options.signal, async (api) => {
      const results = await mapSettled(ids, DECREASE_CONCURRENCY, async (id) => {
        const k = this.known.get(id);
        if (!k) throw new RunnerError('instance_not_found', `${id}: not an instance of ${this.where()}`);
        if (k.state === 'deleting' || k.state === 'deleted') return id;
        try {
          await api.terminateInstance(id, options.signal);
        } catch (err) {
          const cause = err instanceof RunnerError && err.cause !== undefined ? err.cause : err;
          const s = awsErrorShape(cause);
          if (s.code === 'ValidationError' && /not found/i.test(s.message)) throw new RunnerError('instance_not_found', `${id}: ${s.message}`, { cause: err });
          throw err;
        }
        k.state = 'deleting';
        return id;
      });
      const succeeded: string[] = [];
      const failures: unknown[] = [];
      results.forEach((r) => (r.status === 'fulfilled' ? succeeded.push(r.value) : failures.push(r.reason)));
      return decreaseOutcome(succeeded, failures, this.logger);
    });
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    const api = this.ready(options.signal);
    const k = knownInstance(this.known, id, this.where());
    const ec2 = k.ec2;
    if (!ec2 || !(ec2.privateIp || ec2.publicIp)) throw new RunnerError('unavailable', `instance ${id} has no address yet (state ${k.state})`);
    const c = this.connector;
    const os = c.os || osOf(ec2);
    // Windows speaks WinRM unless the connector config says otherwise (an explicit os, or static credentials).
    const protocol = os === 'windows' && !c.os && c.protocol === 'ssh' && !c.useStaticCredentials ? 'winrm' : c.protocol;
    const info: ConnectInfo = {
      ...c,
      id,
      os,
      arch: c.arch || archOf(ec2),
      protocol,
      username: c.username || (os === 'windows' ? 'Administrator' : 'ec2-user'),
      internalAddr: ec2.privateIp,
      externalAddr: ec2.publicIp,
    };
    if (c.useStaticCredentials) return info;
    if (protocol === 'ssh') {
      const key = this.loginKey!;
      const sentAt = this.clock.now();
      await api.sendSshPublicKey({ id, user: info.username, publicKey: key.publicLine, availabilityZone: k.availabilityZone }, options.signal);
      return { ...info, key: key.privateKey, expiresAt: sentAt + (this.options.keyValidityMs ?? 60_000) };
    }
    return { ...info, password: await this.windowsPassword(api, id, options.signal) };
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    this.ready(options.signal);
    heartbeatFromKnown(this.known, id, this.where());
  }

  async shutdown(_options: CallOptions = {}): Promise<void> {
    this.life.shutDown()?.destroy();
  }

  private ready(signal: AbortSignal | undefined): AwsApi {
    return this.life.ready(signal);
  }

  /** This group in messages. */
  private where(): string {
    return `auto scaling group "${this.config.name}"`;
  }

  /** The Administrator password of a Windows instance, polled until AWS has it, decrypted with the connector key. */
  private async windowsPassword(api: AwsApi, id: string, signal: AbortSignal | undefined): Promise<string> {
    const cached = this.passwords.get(id);
    if (cached !== undefined) return cached;
    if (this.connector.key.length === 0) {
      throw new RunnerError('invalid_argument', 'connector_config.key_path: Windows passwords are encrypted with the instance key pair; set key_path to its private key');
    }
    const deadline = this.clock.now() + (this.options.passwordTimeoutMs ?? 600_000);
    for (;;) {
      const data = await api.passwordData(id, signal);
      if (data !== '') {
        const password = decryptWindowsPassword(data, this.connector.key);
        this.passwords.set(id, password);
        return password;
      }
      if (this.clock.now() >= deadline) throw new RunnerError('timeout', `fetching password data of ${id}: still empty after ${this.options.passwordTimeoutMs ?? 600_000} ms`);
      await this.clock.sleep(this.options.passwordPollMs ?? 5000, signal ? { signal } : {});
    }
  }
}
