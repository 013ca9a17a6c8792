import { randomBytes } from 'node:crypto';
import { toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import { generateHostKey, parseSshPublicKey, releaseAddresses, startGateway, stopMachine, type AddressPool, type Backend, type Gateway } from '@fleetrunner/standin-kit';
import { GceError, invalid, notFound } from './api/errors.js';
import { hostArchitecture, type Group, type GroupSpec, type Instance, type Operation } from './model.js';

/** Options of {@link GceCloud}. Times are milliseconds. */
export interface GceCloudOptions {
  project: string;
  /** Zone of groups whose spec names none. */
  zone: string;
  clock: Clock;
  logger: Logger;
  backend: Backend;
  privateAddresses: AddressPool;
  publicAddresses: AddressPool;
  /** Port of every instance's SSH server. */
  sshPort: number;
  /** How long after its call an operation is done (it is RUNNING until then); default 0 = the next round. */
  operationDelayMs: number;
}

/** `https://compute.googleapis.com/compute/v1/` (links are cosmetic: no client follows them). */
export const API_BASE = 'https://compute.googleapis.com/compute/v1/';

function uint64(): string {
  return BigInt(`0x${randomBytes(8).toString('hex')}`).toString().replace(/^0+(?=\d)/, '');
}

function suffix(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(4)].map((b) => letters[b % letters.length]).join('');
}

function fingerprint(): string {
  return randomBytes(8).toString('base64');
}

/** An `ssh-keys` metadata line `user:type base64 [comment | google-ssh {"userName","expireOn"}]`. */
interface MetadataKey {
  user: string;
  blob: Buffer;
  expiresAt?: number;
}

/** The keys of an `ssh-keys` value; lines that are not keys are skipped, as the guest agent does. */
export function parseSshKeys(value: string): MetadataKey[] {
  const out: MetadataKey[] = [];
  for (const line of value.split('\n')) {
    const at = line.indexOf(':');
    if (at <= 0) continue;
    const user = line.slice(0, at).trim();
    const rest = line.slice(at + 1).trim();
    const key = parseSshPublicKey(rest);
    if (!key) continue;
    let expiresAt: number | undefined;
    const g = /google-ssh\s+(\{.*\})\s*$/.exec(rest);
    if (g) {
      try {
        const meta = JSON.parse(g[1]!) as { expireOn?: unknown };
        if (typeof meta.expireOn === 'string') expiresAt = Date.parse(meta.expireOn);
      } catch {
        continue;
      }
    }
    out.push({ user, blob: key.blob, ...(expiresAt !== undefined && !Number.isNaN(expiresAt) ? { expiresAt } : {}) });
  }
  return out;
}

/**
 * The stand-in's Compute Engine: managed instance groups, their instances and zonal operations. API calls change
 * the model at once and return an operation; {@link GceCloud.tick}, which the server runs in a loop, finishes
 * operations and moves instances along (machines started, SSH servers opened, deleted machines killed).
 */
export class GceCloud {
  readonly groups = new Map<string, Group>();
  /** Members of every group by `<zone>/<name>`. */
  readonly instances = new Map<string, Instance>();
  readonly operations = new Map<string, Operation>();
  /** Resize operations to fail: the next `count` resizes end with this error. */
  readonly failResizes: { code: string; message: string }[] = [];
  private readonly gateways = new Map<Instance, Gateway>();
  private readonly toKill = new Set<string>();
  private readonly waiters = new Set<() => void>();

  constructor(readonly options: GceCloudOptions) {}

  groupPath(zone: string, name: string): string {
    return `projects/${this.options.project}/zones/${zone}/instanceGroupManagers/${name}`;
  }

  instancePath(zone: string, name: string): string {
    return `projects/${this.options.project}/zones/${zone}/instances/${name}`;
  }

  /** Creates or replaces a group (its instances are kept when replacing). */
  putGroup(spec: GroupSpec): Group {
    if (typeof spec.name !== 'string' || !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(spec.name)) {
      throw new Error(`group name ${JSON.stringify(spec.name)}: lowercase letters, digits and hyphens, starting with a letter (RFC 1035)`);
    }
    for (const k of ['targetSize', 'quota', 'bootDelayMs'] as const) {
      const v = spec[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`group ${spec.name}: ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    const zone = spec.zone ?? this.options.zone;
    const key = `${zone}/${spec.name}`;
    const old = this.groups.get(key);
    const group: Group = {
      name: spec.name,
      zone,
      id: old?.id ?? uint64(),
      targetSize: spec.targetSize ?? old?.targetSize ?? 0,
      createdAt: old?.createdAt ?? this.options.clock.now(),
      spec: {
        quota: spec.quota ?? 10,
        baseInstanceName: spec.baseInstanceName ?? spec.name,
        platform: spec.platform ?? 'linux',
        architecture: spec.architecture ?? hostArchitecture(),
        externalIp: spec.externalIp ?? true,
        bootDelayMs: spec.bootDelayMs ?? 0,
        listManagedInstancesResults: spec.listManagedInstancesResults ?? 'PAGELESS',
      },
      instances: old?.instances ?? [],
    };
    this.groups.set(key, group);
    return group;
  }

  group(zone: string, name: string): Group {
    const g = this.groups.get(`${zone}/${name}`);
    if (!g) throw notFound(this.groupPath(zone, name));
    return g;
  }

  instance(zone: string, name: string): Instance {
    const inst = this.instances.get(`${zone}/${name}`);
    if (!inst || inst.status === undefined) throw notFound(this.instancePath(zone, name));
    return inst;
  }

  /** A new operation on `targetLink`, done `operationDelayMs` from now (then `complete` runs). */
  operation(zone: string, type: string, targetLink: string, targetId: string, complete?: Operation['complete']): Operation {
    const now = this.options.clock.now();
    const op: Operation = {
      id: uint64(),
      name: `operation-${now}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`,
      zone,
      operationType: type,
      targetLink,
      targetId,
      status: 'RUNNING',
      insertTime: now,
      startTime: now,
      doneAt: now + this.options.operationDelayMs,
      ...(complete ? { complete } : {}),
    };
    this.operations.set(op.name, op);
    return op;
  }

  /** An operation by name or numeric id. */
  findOperation(zone: string, nameOrId: string): Operation {
    const op = this.operations.get(nameOrId) ?? [...this.operations.values()].find((o) => o.id === nameOrId);
    if (!op || op.zone !== zone) throw notFound(`projects/${this.options.project}/zones/${zone}/operations/${nameOrId}`);
    return op;
  }

  /** Resolves when an operation finished or `ms` passed, whichever is first (`signal` ends the wait too). */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        timer.clear();
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.options.clock.setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** instanceGroupManagers.resize. */
  resize(zone: string, name: string, size: number): Operation {
    const g = this.group(zone, name);
    if (!Number.isInteger(size) || size < 0) throw invalid(`Invalid value for field 'size': '${size}'. Must be greater than or equal to 0`);
    if (size > 1000) throw invalid(`Invalid value for field 'size': '${size}'. Must be less than or equal to 1000`);
    const failure = this.failResizes.shift();
    return this.operation(zone, 'compute.instanceGroupManagers.resize', API_BASE + this.groupPath(zone, name), g.id, () => {
      if (failure) return failure;
      g.targetSize = size;
      return undefined;
    });
  }

  /** instanceGroupManagers.deleteInstances: members go DELETING at once, the target size shrinks with them. */
  deleteInstances(zone: string, name: string, urls: readonly string[], skipInvalid: boolean): Operation {
    const g = this.group(zone, name);
    const picked: Instance[] = [];
    for (const url of urls) {
      const m = /(?:^|\/)zones\/([^/]+)\/instances\/([^/]+)$/.exec(url);
      const inst = m ? g.instances.find((i) => i.zone === m[1] && i.name === m[2]) : undefined;
      if (!inst) {
        if (skipInvalid) continue;
        throw invalid(`The resource '${url}' is not a member of the instance group manager '${this.groupPath(zone, name)}'.`);
      }
      picked.push(inst);
    }
    for (const inst of picked) {
      if (inst.currentAction === 'DELETING') continue;
      g.targetSize = Math.max(0, g.targetSize - 1);
      this.beginDeletion(inst);
    }
    return this.operation(zone, 'compute.instanceGroupManagers.deleteInstances', API_BASE + this.groupPath(zone, name), g.id);
  }

  /** instances.setMetadata: needs the current fingerprint (else 412 conditionNotMet). */
  setMetadata(zone: string, name: string, body: { fingerprint?: unknown; items?: unknown }): Operation {
    const inst = this.instance(zone, name);
    if (body.fingerprint !== inst.metadata.fingerprint) {
      throw new GceError(
        412,
        'conditionNotMet',
        `Supplied fingerprint does not match current metadata fingerprint.`,
        'FAILED_PRECONDITION',
      );
    }
    const items = Array.isArray(body.items) ? body.items : [];
    const clean: { key: string; value: string }[] = [];
    for (const it of items) {
      const o = it as { key?: unknown; value?: unknown };
      if (typeof o.key !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(o.key)) throw invalid(`Invalid value for field 'resource.items[${clean.length}].key': '${String(o.key)}'.`);
      clean.push({ key: o.key, value: typeof o.value === 'string' ? o.value : '' });
    }
    inst.metadata = { fingerprint: fingerprint(), items: clean };
    return this.operation(zone, 'setMetadata', API_BASE + this.instancePath(zone, name), inst.id);
  }

  /** Someone deleted a member with instances.delete: the MIG recreates it under the same name (RECREATING). */
  deleteOutOfBand(zone: string, name: string): Instance {
    const inst = this.instances.get(`${zone}/${name}`);
    if (!inst) throw notFound(this.instancePath(zone, name));
    this.stopMachine(inst);
    this.releaseAddresses(inst);
    inst.currentAction = 'RECREATING';
    delete inst.status;
    delete inst.upAt;
    inst.id = uint64();
    inst.metadata = { fingerprint: fingerprint(), items: [] };
    this.options.logger.info('instance deleted out of band; the group recreates it', { name });
    return inst;
  }

  /** Whether `user` may log in to the instance with `blob` now: a key in its `ssh-keys` metadata. */
  loginAllowed(inst: Instance, user: string, blob: Buffer): boolean {
    const now = this.options.clock.now();
    const value = inst.metadata.items.find((i) => i.key === 'ssh-keys')?.value ?? '';
    return parseSshKeys(value).some((k) => k.user === user && k.blob.equals(blob) && (k.expiresAt === undefined || k.expiresAt > now));
  }

  /** One round: operations finish, groups converge on their target size, instances move along. Run serialized. */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    let finished = false;
    for (const op of this.operations.values()) {
      if (op.status === 'DONE' || op.doneAt > now) continue;
      const err = op.complete?.();
      op.status = 'DONE';
      op.endTime = now;
      if (err) {
        op.error = { errors: [err] };
        op.httpErrorStatusCode = 503;
        op.httpErrorMessage = 'SERVICE UNAVAILABLE';
      }
      finished = true;
    }
    if (finished) for (const w of [...this.waiters]) w();
    for (const g of this.groups.values()) this.converge(g, now);
    for (const id of [...this.toKill]) {
      this.toKill.delete(id);
      await this.options.backend.terminate(id).catch((err: unknown) => this.options.logger.warn('killing machine failed', { id, error: toRunnerError(err).message }));
    }
    const machines = [...this.instances.values()].some((i) => i.backendId) ? await this.options.backend.states() : new Map<string, string>();
    for (const inst of [...this.instances.values()]) await this.advance(inst, inst.backendId ? machines.get(inst.backendId) : undefined, now);
    // Done operations are kept for an hour, as GCE keeps them for a while.
    for (const [name, op] of this.operations) if (op.endTime !== undefined && now - op.endTime > 3_600_000) this.operations.delete(name);
  }

  /** Stops every instance's SSH server. */
  async shutdown(): Promise<void> {
    for (const gw of this.gateways.values()) gw.close();
    this.gateways.clear();
    for (const w of [...this.waiters]) w();
  }

  private converge(g: Group, now: number): void {
    const live = g.instances.filter((i) => i.currentAction !== 'DELETING');
    for (let n = live.length; n < g.targetSize; n++) {
      const inst: Instance = {
        name: `${g.spec.baseInstanceName}-${suffix()}`,
        id: uint64(),
        zone: g.zone,
        groupName: g.name,
        currentAction: 'CREATING',
        metadata: { fingerprint: fingerprint(), items: [] },
        creationTimestamp: now,
      };
      g.instances.push(inst);
      this.instances.set(`${inst.zone}/${inst.name}`, inst);
    }
    // A smaller target size deletes the newest members.
    for (const inst of live.slice(g.targetSize).reverse()) this.beginDeletion(inst);
  }

  /** Moves one instance along according to its machine's state (undefined = none, or gone). */
  private async advance(inst: Instance, machine: string | undefined, now: number): Promise<void> {
    const g = this.groups.get(`${inst.zone}/${inst.groupName}`);
    if (!g) return;
    if (inst.currentAction === 'DELETING') {
      if (!inst.backendId || machine === undefined) {
        g.instances = g.instances.filter((i) => i !== inst);
        this.instances.delete(`${inst.zone}/${inst.name}`);
        this.releaseAddresses(inst);
        this.options.logger.info('instance deleted', { name: inst.name });
      }
      return;
    }
    if (inst.backendId === undefined) {
      await this.create(g, inst);
      return;
    }
    if (machine === undefined || machine === 'timeout' || machine === 'deleting') {
      // The machine died under a running instance: the MIG recreates it (auto-healing with do-nothing would not,
      // but a VM that is gone is recreated regardless).
      this.options.logger.warn('the machine behind an instance failed', { name: inst.name, machine: inst.backendId, state: machine ?? 'gone' });
      this.deleteOutOfBand(inst.zone, inst.name);
      return;
    }
    if (inst.status === 'RUNNING' || machine !== 'running') return;
    if (!this.gateways.has(inst)) {
      const bid = inst.backendId;
      try {
        await this.openGateway(inst);
        // Deleted (or deleted out of band: its machine is gone) while its SSH server was starting: that server must
        // not outlive it. Deletion always drops the machine, so comparing it covers both.
        if (inst.backendId !== bid) {
          this.gateways.get(inst)?.close();
          this.gateways.delete(inst);
          return;
        }
        inst.upAt = now;
        inst.status = 'STAGING';
      } catch (err) {
        this.options.logger.warn('starting the SSH server of an instance failed', { name: inst.name, error: toRunnerError(err).message });
        this.deleteOutOfBand(inst.zone, inst.name);
        return;
      }
    }
    if (inst.upAt !== undefined && now >= inst.upAt + g.spec.bootDelayMs) {
      inst.status = 'RUNNING';
      inst.currentAction = 'NONE';
      this.options.logger.info('instance running', { name: inst.name });
    }
  }

  /** Starts the VM of a CREATING/RECREATING member, unless the quota has no room (then its last attempt says so). */
  private async create(g: Group, inst: Instance): Promise<void> {
    const used = g.instances.filter((i) => i.backendId !== undefined).length;
    if (used >= g.spec.quota) {
      inst.lastAttemptError = {
        code: 'QUOTA_EXCEEDED',
        message: `Instance '${inst.name}' creation failed: Quota 'INSTANCES' exceeded.  Limit: ${g.spec.quota}.0 in zone ${inst.zone}.`,
      };
      return;
    }
    const privateIp = this.options.privateAddresses.take();
    const publicIp = privateIp && g.spec.externalIp ? this.options.publicAddresses.take() : undefined;
    if (!privateIp || (g.spec.externalIp && !publicIp)) {
      if (privateIp) this.options.privateAddresses.release(privateIp);
      inst.lastAttemptError = { code: 'IP_SPACE_EXHAUSTED', message: `Instance '${inst.name}' creation failed: IP space of the subnetwork is exhausted.` };
      return;
    }
    inst.privateIp = privateIp;
    if (publicIp) inst.publicIp = publicIp;
    delete inst.lastAttemptError;
    inst.status = 'PROVISIONING';
    const vm = inst.id;
    try {
      const machine = await this.options.backend.launch();
      // Deleted (or deleted out of band) while its machine was starting: the machine is not this VM's any more.
      if (inst.currentAction === 'DELETING' || inst.id !== vm) {
        this.toKill.add(machine);
        return;
      }
      inst.backendId = machine;
      this.options.logger.info('instance created', { name: inst.name, group: g.name, machine: inst.backendId, address: privateIp });
    } catch (err) {
      this.options.logger.warn('creating an instance failed', { name: inst.name, error: toRunnerError(err).message });
      delete inst.status;
      this.releaseAddresses(inst);
      inst.lastAttemptError = { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: `Instance '${inst.name}' creation failed: ${toRunnerError(err).message}` };
    }
  }

  private async openGateway(inst: Instance): Promise<void> {
    const bid = inst.backendId!;
    const gw = await startGateway({
      instanceId: inst.name,
      addresses: [inst.privateIp!, ...(inst.publicIp ? [inst.publicIp] : [])],
      port: this.options.sshPort,
      hostKey: generateHostKey(),
      allows: (user, blob) => this.loginAllowed(inst, user, blob),
      upstream: () => this.options.backend.upstream(bid),
      logger: this.options.logger,
    });
    this.gateways.set(inst, gw);
  }

  /** DELETING: the SSH server goes at once (connections drop), the machine at the next round. */
  private beginDeletion(inst: Instance): void {
    inst.currentAction = 'DELETING';
    if (inst.status !== undefined) inst.status = 'STOPPING';
    this.stopMachine(inst);
    this.options.logger.info('instance deleting', { name: inst.name });
  }

  private stopMachine(inst: Instance): void {
    stopMachine(inst, inst, this.gateways, this.toKill);
  }

  private releaseAddresses(inst: Instance): void {
    releaseAddresses(inst, this.options.privateAddresses, this.options.publicAddresses);
  }
}
