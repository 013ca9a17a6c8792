import { constants, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import { toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { generateHostKey, keyPairBlob, parseSshPublicKey, PushedKeys, rsaPublicKey, startGateway, type AddressPool, type Backend, type Gateway } from '@fleetrunner/standin-kit';
import { ApiError, validationError } from './api/errors.js';
import { hostArchitecture, type Group, type GroupSpec, type Instance } from './model.js';

/** Options of {@link Cloud}. Times are milliseconds. */
export interface CloudOptions {
  region: string;
  accountId: string;
  clock: Clock;
  logger: Logger;
  backend: Backend;
  privateAddresses: AddressPool;
  publicAddresses: AddressPool;
  /** Port of every instance's SSH server. */
  sshPort: number;
  /** How long a key pushed with SendSSHPublicKey works. */
  keyValidityMs: number;
  /** How long terminated instances stay listed: in their group, and in DescribeInstances. */
  groupRetentionMs: number;
  instanceRetentionMs: number;
}

/** What TerminateInstanceInAutoScalingGroup reports. */
export interface Activity {
  id: string;
  groupName: string;
  description: string;
  cause: string;
  startTime: number;
}

/**
 * The stand-in's cloud: Auto Scaling groups and EC2 instances with their lifecycles. API calls change state at
 * once and return; the machines behind instances are started and stopped by {@link Cloud.tick}, which the server
 * runs in a loop.
 */
export class Cloud {
  readonly groups = new Map<string, Group>();
  /** Every EC2 instance, terminated ones included until they are purged. */
  readonly instances = new Map<string, Instance>();
  private readonly gateways = new Map<string, Gateway>();
  private readonly pushed = new Map<string, PushedKeys>();
  /** Machines of terminating instances still to be killed. */
  private readonly toKill = new Set<string>();
  private launchBackoff = { failures: 0, until: 0 };

  constructor(readonly options: CloudOptions) {}

  /** Creates or replaces a group (its instances are kept when replacing). */
  putGroup(spec: GroupSpec): Group {
    const { clock, region, accountId } = this.options;
    for (const k of ['minSize', 'maxSize', 'desiredCapacity', 'bootDelayMs'] as const) {
      const v = spec[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`group ${spec.name}: ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    if (typeof spec.name !== 'string') throw new Error('group: name must be a string');
    const minSize = spec.minSize ?? 0;
    const maxSize = spec.maxSize ?? 10;
    const desired = spec.desiredCapacity ?? minSize;
    if (!/^[\w.:/-]{1,255}$/.test(spec.name)) throw new Error(`group name ${JSON.stringify(spec.name)}: letters, digits and ._:/- only`);
    if (!(minSize >= 0 && maxSize >= minSize && desired >= minSize && desired <= maxSize)) {
      throw new Error(`group ${spec.name}: expected 0 ≤ minSize ≤ desiredCapacity ≤ maxSize, got ${minSize}, ${desired}, ${maxSize}`);
    }
    if (spec.keyPair && !keyPairBlob(spec.keyPair.publicKey)) throw new Error(`group ${spec.name}: keyPair.publicKey is not a public key`);
    const old = this.groups.get(spec.name);
    const group: Group = {
      name: spec.name,
      arn: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${spec.name}`,
      minSize,
      maxSize,
      desiredCapacity: desired,
      createdAt: old?.createdAt ?? clock.now(),
      spec: {
        platform: spec.platform ?? 'linux',
        architecture: spec.architecture ?? hostArchitecture(),
        instanceType: spec.instanceType ?? 't3.micro',
        availabilityZones: spec.availabilityZones?.length ? spec.availabilityZones : [`${region}a`],
        protectNewInstances: spec.protectNewInstances ?? true,
        publicIp: spec.publicIp ?? true,
        spot: spec.spot ?? false,
        bootDelayMs: spec.bootDelayMs ?? 0,
        ...(spec.keyPair ? { keyPair: spec.keyPair } : {}),
      },
      instances: old?.instances ?? [],
      nextZone: old?.nextZone ?? 0,
    };
    this.groups.set(spec.name, group);
    return group;
  }

  /** SetDesiredCapacity. */
  setDesiredCapacity(name: string, desired: number): void {
    const g = this.groups.get(name);
    if (!g) throw validationError(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
    if (desired > g.maxSize) throw validationError(`New SetDesiredCapacity value ${desired} is above max value ${g.maxSize} for the AutoScalingGroup.`);
    if (desired < g.minSize) throw validationError(`New SetDesiredCapacity value ${desired} is below min value ${g.minSize} for the AutoScalingGroup.`);
    g.desiredCapacity = desired;
  }

  /** TerminateInstanceInAutoScalingGroup. */
  terminateInGroup(id: string, decrement: boolean): Activity {
    const inst = this.instances.get(id);
    const g = inst && this.groups.get(inst.groupName);
    if (!inst || !g || !g.instances.includes(inst) || inst.lifecycle === 'Terminated') {
      throw validationError(`Instance Id not found - No managed instance found for instance ID: ${id}`);
    }
    if (inst.lifecycle === 'Pending' || inst.lifecycle === 'InService') {
      if (decrement && g.desiredCapacity - 1 < g.minSize) {
        throw validationError(
          `Currently, desiredSize equals minSize (${g.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
        );
      }
      if (decrement) g.desiredCapacity--;
      this.beginTermination(inst, { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' });
    }
    return {
      id: randomUUID(),
      groupName: g.name,
      description: `Terminating EC2 instance: ${id}`,
      cause: `At ${new Date(this.options.clock.now()).toISOString()} instance ${id} was taken out of service in response to a user request${decrement ? ', shrinking the capacity' : ''}.`,
      startTime: this.options.clock.now(),
    };
  }

  /** Out-of-band termination (console, another tool): the group notices and launches a replacement. */
  terminateOutOfBand(id: string, reason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' }): void {
    const inst = this.instances.get(id);
    if (!inst) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    inst.health = 'Unhealthy';
    this.beginTermination(inst, reason);
  }

  /** A spot interruption: the instance is reclaimed `noticeMs` from now (default at once). */
  interrupt(id: string, noticeMs = 0): void {
    const inst = this.instances.get(id);
    if (!inst) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    inst.interruptAt = this.options.clock.now() + noticeMs;
  }

  /** SendSSHPublicKey: `keyLine` logs `user` in on the instance for the key validity period. */
  pushKey(id: string, user: string, keyLine: string, availabilityZone: string | undefined): void {
    const key = parseSshPublicKey(keyLine);
    if (!key) throw new ApiError('InvalidArgsException', 'The SSH public key is invalid: expected an RSA or ED25519 key in OpenSSH format');
    const inst = this.instances.get(id);
    if (!inst || inst.ec2State === 'terminated') throw new ApiError('EC2InstanceNotFoundException', 'Instance not found', 404);
    if (availabilityZone !== undefined && availabilityZone !== inst.availabilityZone) {
      throw new ApiError('InvalidArgsException', `Instance ${id} is not in availability zone ${availabilityZone}`);
    }
    if (inst.ec2State !== 'running') throw new ApiError('EC2InstanceStateInvalidException', 'Instance is not in a valid state', 400);
    let keys = this.pushed.get(id);
    if (!keys) this.pushed.set(id, (keys = new PushedKeys()));
    keys.add(user, key, this.options.clock.now() + this.options.keyValidityMs);
  }

  /** Whether `user` may log in to the instance with the public key `blob` now. */
  loginAllowed(inst: Instance, user: string, blob: Buffer): boolean {
    if (this.pushed.get(inst.id)?.allows(user, blob, this.options.clock.now())) return true;
    const pair = this.groups.get(inst.groupName)?.spec.keyPair;
    return Boolean(pair && keyPairBlob(pair.publicKey)?.equals(blob));
  }

  /** One round of lifecycle work: launches, readiness, terminations, purges. Run serialized. */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    for (const inst of this.instances.values()) {
      if (inst.interruptAt !== undefined && inst.interruptAt <= now && (inst.ec2State === 'pending' || inst.ec2State === 'running')) {
        inst.health = 'Unhealthy';
        this.beginTermination(inst, { code: 'Server.SpotInstanceTermination', message: 'Server.SpotInstanceTermination: Spot instance termination' });
      }
    }
    for (const g of this.groups.values()) await this.scale(g);
    for (const id of [...this.toKill]) {
      this.toKill.delete(id);
      await this.options.backend.terminate(id).catch((err: unknown) => this.options.logger.warn('killing machine failed', { id, error: toRunnerError(err).message }));
    }
    const machines = [...this.instances.values()].some((i) => i.backendId && i.ec2State !== 'terminated') ? await this.options.backend.states() : new Map<string, string>();
    for (const inst of [...this.instances.values()]) await this.advance(inst, machines.get(inst.backendId ?? ''), now);
    this.purge(now);
  }

  /** Stops every instance's SSH server and machine. */
  async shutdown(): Promise<void> {
    for (const gw of this.gateways.values()) gw.close();
    this.gateways.clear();
  }

  private async scale(g: Group): Promise<void> {
    const live = g.instances.filter((i) => i.lifecycle === 'Pending' || i.lifecycle === 'InService');
    if (live.length > g.desiredCapacity) {
      const excess = live.length - g.desiredCapacity;
      // Scale-in protection keeps instances: the group stays above its desired capacity, as in AWS.
      for (const inst of live.filter((i) => !i.protectedFromScaleIn).reverse().slice(0, excess)) {
        this.beginTermination(inst, { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: scale in' });
      }
      return;
    }
    for (let n = live.length; n < g.desiredCapacity; n++) {
      if (this.options.clock.now() < this.launchBackoff.until) return;
      if (!(await this.launch(g))) return;
    }
  }

  private async launch(g: Group): Promise<boolean> {
    const { clock, logger, backend } = this.options;
    const privateIp = this.options.privateAddresses.take();
    const publicIp = privateIp && g.spec.publicIp ? this.options.publicAddresses.take() : undefined;
    if (!privateIp || (g.spec.publicIp && !publicIp)) {
      if (privateIp) this.options.privateAddresses.release(privateIp);
      logger.warn('no free address for a new instance', { group: g.name });
      this.failLaunch();
      return false;
    }
    const inst: Instance = {
      id: `i-${randomBytes(9).toString('hex').slice(0, 17)}`,
      groupName: g.name,
      availabilityZone: g.spec.availabilityZones[g.nextZone++ % g.spec.availabilityZones.length]!,
      instanceType: g.spec.instanceType,
      platform: g.spec.platform,
      architecture: g.spec.architecture,
      spot: g.spec.spot,
      ...(g.spec.keyPair ? { keyName: g.spec.keyPair.name } : {}),
      privateIp,
      ...(publicIp ? { publicIp } : {}),
      launchTime: clock.now(),
      ec2State: 'pending',
      lifecycle: 'Pending',
      health: 'Healthy',
      protectedFromScaleIn: g.spec.protectNewInstances,
    };
    g.instances.push(inst);
    this.instances.set(inst.id, inst);
    try {
      inst.backendId = await backend.launch();
      // Terminated while its machine was starting: the machine goes too (the next round sees it gone and settles).
      if (inst.ec2State !== 'pending') this.toKill.add(inst.backendId);
      this.launchBackoff.failures = 0;
      logger.info('instance launched', { id: inst.id, group: g.name, machine: inst.backendId, address: privateIp });
      return true;
    } catch (err) {
      logger.warn('launching instance failed', { id: inst.id, group: g.name, error: toRunnerError(err).message });
      this.settleTerminated(inst, { code: 'Server.InternalError', message: `Server.InternalError: ${toRunnerError(err).message}` });
      this.failLaunch();
      return false;
    }
  }

  private failLaunch(): void {
    this.launchBackoff.failures++;
    this.launchBackoff.until = this.options.clock.now() + Math.min(30_000, 250 * 2 ** this.launchBackoff.failures);
  }

  /** Moves one instance along according to its machine's state (undefined = the machine is gone). */
  private async advance(inst: Instance, machine: string | undefined, now: number): Promise<void> {
    if (inst.ec2State === 'shutting-down') {
      if (!inst.backendId || machine === undefined) this.settleTerminated(inst);
      return;
    }
    if (inst.ec2State !== 'pending' && inst.ec2State !== 'running') return;
    if (machine === undefined || machine === 'timeout' || machine === 'deleting') {
      this.options.logger.warn('the machine behind an instance failed', { id: inst.id, machine: inst.backendId, state: machine ?? 'gone' });
      inst.health = 'Unhealthy';
      this.beginTermination(inst, { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' });
      return;
    }
    if (inst.ec2State === 'running' || machine !== 'running') return;
    if (!this.gateways.has(inst.id)) {
      try {
        await this.openGateway(inst);
        // Terminated while its SSH server was starting: that server must not outlive it.
        if (inst.ec2State !== 'pending' && inst.ec2State !== 'running') {
          this.gateways.get(inst.id)?.close();
          this.gateways.delete(inst.id);
          return;
        }
        inst.upAt = now;
      } catch (err) {
        this.options.logger.warn('starting the SSH server of an instance failed', { id: inst.id, error: toRunnerError(err).message });
        inst.health = 'Unhealthy';
        this.beginTermination(inst, { code: 'Server.InternalError', message: `Server.InternalError: ${toRunnerError(err).message}` });
        return;
      }
    }
    const boot = this.groups.get(inst.groupName)?.spec.bootDelayMs ?? 0;
    if (inst.upAt !== undefined && now >= inst.upAt + boot) {
      inst.ec2State = 'running';
      inst.lifecycle = 'InService';
      if (inst.platform === 'windows') this.setWindowsPassword(inst);
      this.options.logger.info('instance in service', { id: inst.id });
    }
  }

  private async openGateway(inst: Instance): Promise<void> {
    const bid = inst.backendId!;
    const gw = await startGateway({
      instanceId: inst.id,
      addresses: [inst.privateIp, ...(inst.publicIp ? [inst.publicIp] : [])],
      port: this.options.sshPort,
      hostKey: generateHostKey(),
      allows: (user, blob) => this.loginAllowed(inst, user, blob),
      upstream: () => this.options.backend.upstream(bid),
      logger: this.options.logger,
    });
    this.gateways.set(inst.id, gw);
  }

  /** Windows: an Administrator password, encrypted for the key pair (only RSA key pairs can have one). */
  private setWindowsPassword(inst: Instance): void {
    const pair = this.groups.get(inst.groupName)?.spec.keyPair;
    const key = pair && rsaPublicKey(pair.publicKey);
    if (!key) return;
    inst.password = randomBytes(18).toString('base64url');
    inst.passwordData = publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(inst.password)).toString('base64');
  }

  /** Starts terminating: the SSH server goes at once (connections drop), the machine at the next tick. */
  private beginTermination(inst: Instance, reason: { code: string; message: string }): void {
    if (inst.ec2State === 'shutting-down' || inst.ec2State === 'terminated') return;
    inst.ec2State = 'shutting-down';
    inst.lifecycle = 'Terminating';
    inst.stateReason = reason;
    inst.interruptAt = undefined;
    this.gateways.get(inst.id)?.close();
    this.gateways.delete(inst.id);
    this.pushed.delete(inst.id);
    if (inst.backendId) this.toKill.add(inst.backendId);
    this.options.logger.info('instance terminating', { id: inst.id, reason: reason.code });
  }

  private settleTerminated(inst: Instance, reason?: { code: string; message: string }): void {
    inst.ec2State = 'terminated';
    inst.lifecycle = 'Terminated';
    inst.terminatedAt = this.options.clock.now();
    if (reason) inst.stateReason = reason;
    this.options.privateAddresses.release(inst.privateIp);
    if (inst.publicIp) this.options.publicAddresses.release(inst.publicIp);
  }

  private purge(now: number): void {
    for (const g of this.groups.values()) {
      g.instances = g.instances.filter((i) => i.terminatedAt === undefined || now - i.terminatedAt < this.options.groupRetentionMs);
    }
    for (const [id, inst] of this.instances) {
      if (inst.terminatedAt !== undefined && now - inst.terminatedAt >= this.options.instanceRetentionMs) this.instances.delete(id);
    }
  }
}
