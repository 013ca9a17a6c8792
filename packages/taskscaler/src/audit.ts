import { INSTANCE_LIFECYCLES, type InstanceLifecycle } from './instance.js';
import type { Scaler } from './scaler.js';
import { savedInstance } from './state-image.js';

/**
 * Recounts from scratch everything the fleet keeps incrementally (counts by state, the removal, heartbeat and
 * suspect sets, the slot index's free slots, the stats totals, the acquisition count, the state image) and
 * returns one line per disagreement. O(instances); for tests.
 */
export function audit(s: Scaler): string[] {
  const { fleet } = s.ctx;
  const out: string[] = [];
  const counts = Object.fromEntries(INSTANCE_LIFECYCLES.map((st) => [st, 0])) as Record<InstanceLifecycle, number>;
  let acquired = 0;
  let free = 0;
  let unavailable = 0;
  let unhealthy = 0;
  let removals = 0;
  let queued = 0;
  let suspects = 0;
  for (const r of fleet.byId.values()) {
    counts[r.state]++;
    acquired += r.acquired;
    const left = fleet.capacity - r.acquired;
    if (r.state === 'ready') {
      free += fleet.usable(r);
      if (r.suspect) unhealthy += left;
      else unavailable += left - fleet.usable(r);
    } else if (r.state === 'draining') {
      unavailable += left;
    } else if (r.state === 'unhealthy') {
      unhealthy += left;
    }
    if (r.slots.filter((h) => h !== undefined).length !== r.acquired) out.push(`${r.id}: ${r.acquired} acquired, slots hold ${r.slots.filter((h) => h).length}`);
    const inRemovals = fleet.removals.has(r);
    if (inRemovals !== (r.state === 'removing')) out.push(`${r.id}: state ${r.state}, in removals ${inRemovals}`);
    if (inRemovals) removals++;
    const inQueue = fleet.heartbeatQueue.has(r);
    if (inQueue !== (r.state === 'ready' || r.state === 'draining')) out.push(`${r.id}: state ${r.state}, in heartbeat queue ${inQueue}`);
    if (inQueue) queued++;
    const isSuspect = fleet.suspects.has(r);
    if (isSuspect !== (r.state === 'ready' && r.suspect)) out.push(`${r.id}: state ${r.state} suspect ${r.suspect}, in suspects ${isSuspect}`);
    if (isSuspect) suspects++;
  }
  for (const st of INSTANCE_LIFECYCLES) if (counts[st] !== fleet.counts[st]) out.push(`counts.${st}: kept ${fleet.counts[st]}, recounted ${counts[st]}`);
  if (acquired !== fleet.acquired) out.push(`acquired: kept ${fleet.acquired}, recounted ${acquired}`);
  if (free !== fleet.index.freeSlots) out.push(`free slots: kept ${fleet.index.freeSlots}, recounted ${free}`);
  if (unavailable !== fleet.unavailableSlots) out.push(`unavailable slots: kept ${fleet.unavailableSlots}, recounted ${unavailable}`);
  if (unhealthy !== fleet.unhealthySlots) out.push(`unhealthy slots: kept ${fleet.unhealthySlots}, recounted ${unhealthy}`);
  if (removals !== fleet.removals.size) out.push(`removals: ${fleet.removals.size} kept, ${removals} known`);
  if (queued !== fleet.heartbeatQueue.size) out.push(`heartbeat queue: ${fleet.heartbeatQueue.size} kept, ${queued} known`);
  if (suspects !== fleet.suspects.size) out.push(`suspects: ${fleet.suspects.size} kept, ${suspects} known`);
  let last = Number.NEGATIVE_INFINITY;
  for (const r of fleet.heartbeatQueue) {
    if (r.lastHeartbeatAt < last) out.push(`heartbeat queue out of order at ${r.id}`);
    last = r.lastHeartbeatAt;
  }
  if (fleet.image.enabled) {
    if (fleet.image.size !== fleet.byId.size) out.push(`state image: ${fleet.image.size} instances, fleet ${fleet.byId.size}`);
    const kept = fleet.image.render((r) => s.acquisitions.saved(r)).sort();
    const full = [...fleet.byId.values()].map((r) => JSON.stringify(savedInstance(r, (x) => s.acquisitions.saved(x)))).sort();
    const fullSet = new Set(full);
    const keptSet = new Set(kept);
    for (const t of kept) if (!fullSet.has(t)) out.push(`state image has ${t}`);
    for (const t of full) if (!keptSet.has(t)) out.push(`state image lacks ${t}`);
  }
  return out;
}
