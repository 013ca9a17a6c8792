import { readFileSync } from 'node:fs';
import { RunnerError, expandGo, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { ConnectorSettings as ConfigConnectorSettings, RunnerEntry, VmIsolation } from '@fleetrunner/config';
import type { Connection, ConnectorSettings } from '@fleetrunner/connector';
import { defaultConnectorConfig, type ConnectInfo, type ConnectorConfig } from '@fleetrunner/fleeting';
import { warningLine, type JobPayload } from '@fleetrunner/gitlab';
import type { NestingClient } from '@fleetrunner/nesting';
import { globMatches } from '../files/glob.js';

/** How long deleting a nested VM may take at the end of a job or after a failure (GitLab Runner's bound), ms. */
export const VM_CLEANUP_TIMEOUT_MS = 60_000;

/** What reaches machines behind an instance (the SshConnector does). */
export interface ThroughConnector {
  connectThrough(through: Connection, info: ConnectInfo, settings: ConnectorSettings, options?: { signal?: AbortSignal }): Promise<Connection>;
}

/** A job's nested VM: the connection every stage runs over, and its end. */
export interface NestedVm {
  readonly id: string;
  readonly name: string;
  readonly addr: string;
  readonly connection: Connection;
  /** Closes the VM's connection and deletes the VM (bounded by {@link VM_CLEANUP_TIMEOUT_MS}); never throws. */
  release(): Promise<void>;
}

/**
 * The nested VM image of a job, or why the job cannot run: the job's `image:` (CI variables expanded) for the
 * instance executor, else `vm_isolation.image`; a job image must match `[runners.instance] allowed_images`
 * (doublestar patterns; an empty list allows any).
 */
export function nestingImage(entry: RunnerEntry, job: JobPayload): { image: string } | { error: string } {
  const vars = new Map(job.variables.map((v) => [v.key, v.value]));
  const expand = (s: string): string => expandGo(s, (name) => vars.get(name) ?? '');
  const own = job.image?.name ? expand(job.image.name) : '';
  if (own !== '') {
    const allowed = entry.instance.allowedImages;
    if (allowed.length > 0 && !allowed.some((p) => globMatches(p, own))) {
      return { error: `the job's image ${JSON.stringify(own)} is not allowed: it matches none of [runners.instance] allowed_images ${JSON.stringify(allowed)}` };
    }
    return { image: own };
  }
  const image = expand(entry.autoscaler?.vmIsolation.image ?? '');
  return image === '' ? { error: 'no nesting VM image specified (set the job\'s image: or [runners.autoscaler.vm_isolation] image)' } : { image };
}

/** A `connector_config` table as the connector takes it (the key file read); `where` names it in errors. */
export function connectorSettingsOf(c: ConfigConnectorSettings, where: string): ConnectorConfig {
  let key: Uint8Array = new Uint8Array();
  if (c.keyPath) {
    try {
      key = readFileSync(c.keyPath);
    } catch (err) {
      throw new RunnerError('invalid_argument', `${where}.key_path: reading ${c.keyPath}: ${toRunnerError(err).message}`);
    }
  }
  return defaultConnectorConfig({
      os: c.os,
      arch: c.arch,
      protocol: c.protocol,
      protocolPort: c.protocolPort,
      username: c.username,
      password: c.password,
      key,
      useStaticCredentials: c.useStaticCredentials,
      keepaliveMs: c.keepaliveMs,
      timeoutMs: c.timeoutMs,
    });
}

/** The nesting daemon on an instance, reached through its SSH connection, with Init sent lazily. */
export async function nestingOn(host: Connection, vm: VmIsolation): Promise<NestingClient> {
  // The nesting client (its gRPC service definitions) is loaded only by runners that use vm_isolation.
  const { connect, lazyInitClient, socketPathOfTarget } = await import('@fleetrunner/nesting');
  const path = socketPathOfTarget(vm.nestingHost);
  const client = await connect((signal) => host.forwardUnix(path, { signal }));
  return lazyInitClient(client, vm.nestingConfig);
}

/** Options of {@link enterVm}. */
export interface EnterVmOptions {
  host: Connection;
  instanceId: string;
  slot: number;
  image: string;
  vm: VmIsolation;
  connector: ThroughConnector;
  log: (text: string) => void;
  clock: Clock;
  signal: AbortSignal;
  logger?: Logger;
}

/**
 * Creates the job's VM in its slot through the instance's nesting daemon and dials it through the instance's
 * connection with `vm_isolation.connector_config`. Any failure deletes what was created and throws: the job
 * never falls back to the instance itself.
 */
export async function enterVm(o: EnterVmOptions): Promise<NestedVm> {
  const where = `instance ${o.instanceId}`;
  let client: NestingClient;
  try {
    client = await nestingOn(o.host, o.vm);
  } catch (err) {
    throw new RunnerError('unavailable', `nesting daemon on ${where}: ${toRunnerError(err).message}`, { cause: err });
  }
  let vmId: string | undefined;
  try {
    o.log(`Creating nesting VM ${o.image} in slot ${o.slot} on ${where}...\n`);
    const { vm, stompedVmId } = await client.create(o.image, o.slot, { signal: o.signal });
    vmId = vm.id;
    if (stompedVmId) o.log(warningLine(`Nesting VM ${stompedVmId} left in slot ${o.slot} was replaced`));
    if (!vm.addr) throw new RunnerError('unavailable', `the nesting daemon reported no address for VM ${vm.id}`);
    o.log(`Dialing nesting VM ${vm.id} (${vm.name}) at ${vm.addr} through ${where}...\n`);
    const settings = connectorSettingsOf(o.vm.connectorConfig, 'vm_isolation.connector_config');
    const connection = await o.connector.connectThrough(o.host, { ...defaultConnectorConfig(), id: vm.id, internalAddr: vm.addr, externalAddr: '' }, settings, { signal: o.signal });
    o.log(`Nesting VM ${vm.id} connected\n`);
    const id = vm.id;
    let released: Promise<void> | undefined;
    return {
      id,
      name: vm.name,
      addr: vm.addr,
      connection,
      release: () =>
        (released ??= (async () => {
          connection.close();
          await deleteVm(client, id, o);
          await client.close().catch(() => undefined);
        })()),
    };
  } catch (err) {
    if (vmId !== undefined) await deleteVm(client, vmId, o);
    await client.close().catch(() => undefined);
    throw new RunnerError(toRunnerError(err).code === 'aborted' ? 'aborted' : 'unavailable', `nesting VM on ${where}: ${toRunnerError(err).message}`, { cause: err });
  }
}

async function deleteVm(client: NestingClient, id: string, o: { clock: Clock; logger?: Logger; instanceId: string }): Promise<void> {
  try {
    await client.delete(id, { timeoutMs: VM_CLEANUP_TIMEOUT_MS });
  } catch (err) {
    o.logger?.warn('deleting a nesting VM failed', { instance: o.instanceId, vm: id, error: toRunnerError(err).message });
  }
}

/** When an instance becomes ready with vm_isolation on: every VM its daemon still lists is deleted (no reattach). */
export async function removeLeftoverVms(host: Connection, vm: VmIsolation, o: { instanceId: string; logger?: Logger; signal?: AbortSignal }): Promise<number> {
  const client = await nestingOn(host, vm);
  try {
    const vms = await client.list(o.signal ? { signal: o.signal } : {});
    for (const vm of vms) {
      try {
        await client.delete(vm.id, { timeoutMs: VM_CLEANUP_TIMEOUT_MS });
      } catch (err) {
        o.logger?.warn('deleting a leftover nesting VM failed', { instance: o.instanceId, vm: vm.id, error: toRunnerError(err).message });
      }
    }
    return vms.length;
  } finally {
    await client.close().catch(() => undefined);
  }
}
