// Shared set-up for the local plugin's tests: a group on a temp state dir whose instance processes are all killed
// at teardown, whatever the test did.
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from 'ssh2';
import { defaultConnectorConfig, type ConnectorConfig, type InstanceGroup, type InstanceState, type InstanceStatus } from '@fleetrunner/fleeting';
import { connectConfigOf, runningInstances as kitRunningInstances, sshConnect, tmpDir, untilUpdate as kitUntilUpdate, waitFor, type Teardownable } from '@fleetrunner/testing';
import { LocalInstanceGroup, type LocalInstanceGroupOptions } from '../src/index.js';
import { isAlive, killInstanceProcesses } from '../src/proc.js';
import { StateStore } from '../src/state-store.js';

export const SSHD = '/usr/sbin/sshd';
/** Skip reason for sshd-mode tests, or false. */
export const noSshd: string | false = existsSync(SSHD) ? false : `${SSHD} is missing (apt-get install openssh-server)`;

/** Every loopback subnet used by a test file must differ from the others: tap runs files in parallel. */
export interface GroupSpec {
  pluginConfig?: Record<string, unknown>;
  connector?: Partial<ConnectorConfig>;
  options?: LocalInstanceGroupOptions;
  /** Reuse an existing state dir (restart tests). */
  stateDir?: string;
}

/** Kills every instance process recorded in `stateDir` and waits until they are gone. */
export async function purge(stateDir: string): Promise<void> {
  const { records } = await new StateStore(stateDir).list();
  for (const r of records) killInstanceProcesses(r);
  await waitFor(() => records.every((r) => !isAlive(r)), { what: 'instance processes to die at teardown' });
}

/** An initialized group; its instances' processes are killed and the group shut down when `t` ends. */
export async function startGroup(t: Teardownable, spec: GroupSpec = {}): Promise<{ group: LocalInstanceGroup; stateDir: string }> {
  const stateDir = spec.stateDir ?? tmpDir(t, { prefix: 'fleetrunner-local' });
  const group = new LocalInstanceGroup(spec.options);
  t.teardown(async () => {
    await group.shutdown();
    await purge(stateDir);
  });
  await group.init({ pluginConfig: { state_dir: stateDir, ...spec.pluginConfig }, connector: defaultConnectorConfig(spec.connector) });
  return { group, stateDir };
}

/** Polls update() until `done` holds for the list; returns that list. */
export function untilUpdate(group: InstanceGroup, done: (list: InstanceStatus[]) => boolean, what: string): Promise<InstanceStatus[]> {
  return kitUntilUpdate(group, done, what, 30_000);
}

/** Waits until each of `ids` reports `state`. */
export function untilAll(group: InstanceGroup, ids: readonly string[], state: InstanceState): Promise<InstanceStatus[]> {
  return untilUpdate(group, (list) => ids.every((id) => list.some((s) => s.id === id && s.state === state)), `${ids.join(', ')} ${state}`);
}

/** Increases by `n` and waits until all new instances run; returns their ids. */
export function runningInstances(group: InstanceGroup, n: number): Promise<string[]> {
  return kitRunningInstances(group, n, 30_000);
}

/** An ssh2 client logged in with the instance's ConnectInfo; ended at teardown. */
export async function connect(t: Teardownable, group: InstanceGroup, id: string, hostVerifier?: (key: Buffer) => boolean): Promise<Client> {
  const info = await group.connectInfo(id);
  const client = await sshConnect({ ...connectConfigOf(info), ...(hostVerifier ? { hostVerifier } : {}) });
  t.teardown(() => client.end());
  return client;
}

/** True while `pid` is a live (non-zombie) process. */
export function pidAlive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
