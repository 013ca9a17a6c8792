import type { AddressPool } from './addresses.js';
import type { Gateway } from './gateway.js';

/** What a stand-in's instance holds of the kit: its loopback addresses and the machine behind it. */
export interface MachineHolder {
  privateIp?: string;
  publicIp?: string;
  backendId?: string;
}

/** Gives an instance's addresses back to their pools (they may go to a new instance). */
export function releaseAddresses(inst: MachineHolder, privatePool: AddressPool, publicPool: AddressPool): void {
  if (inst.privateIp) privatePool.release(inst.privateIp);
  if (inst.publicIp) publicPool.release(inst.publicIp);
  delete inst.privateIp;
  delete inst.publicIp;
}

/** Closes an instance's SSH gateway at once (its connections drop) and queues its machine in `toKill` for the next round. */
export function stopMachine<K>(inst: MachineHolder, key: K, gateways: Map<K, Gateway>, toKill: Set<string>): void {
  gateways.get(key)?.close();
  gateways.delete(key);
  if (inst.backendId) toKill.add(inst.backendId);
  delete inst.backendId;
}
