import type { InstanceGroup, InstanceStatus } from '@fleetrunner/fleeting';
import { waitFor } from './wait-for.js';

/** Polls `group.update()` until `done` holds for the list; returns that list. */
export function untilUpdate(group: InstanceGroup, done: (list: InstanceStatus[]) => boolean, what: string, timeoutMs = 20_000): Promise<InstanceStatus[]> {
  return waitFor(async () => {
    const list = await group.update();
    return done(list) ? list : undefined;
  }, { what, timeoutMs });
}

/** Increases `group` by `n` and waits until that many new instances run; returns their ids. */
export async function runningInstances(group: InstanceGroup, n: number, timeoutMs = 20_000): Promise<string[]> {
  const before = new Set((await group.update()).map((s) => s.id));
  const r = await group.increase(n);
  if (r.succeeded !== n) throw new Error(`increase(${n}) succeeded ${r.succeeded}: ${r.error?.message}`);
  const fresh = (l: InstanceStatus[]): InstanceStatus[] => l.filter((s) => !before.has(s.id) && s.state === 'running');
  const list = await untilUpdate(group, (l) => fresh(l).length === n, `${n} new instances running`, timeoutMs);
  return fresh(list).map((s) => s.id);
}
