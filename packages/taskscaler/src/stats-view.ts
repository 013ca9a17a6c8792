import type { Scaler } from './scaler.js';
import type { TaskscalerStats } from './stats.js';

/** Builds the stats snapshot: one pass over the instances for the slot counts. */
export function buildStats(s: Scaler): TaskscalerStats {
  const { fleet, counters, histograms, limit, schedule, clock } = s.ctx;
  const c = fleet.counts;
  let unavailable = 0;
  let unhealthy = 0;
  for (const r of fleet.byId.values()) {
    const free = fleet.capacity - r.acquired;
    if (r.state === 'ready' && r.suspect) unhealthy += free;
    else if (r.state === 'ready') unavailable += free - fleet.usable(r);
    else if (r.state === 'draining') unavailable += free;
    else if (r.state === 'unhealthy') unhealthy += free;
  }
  const { reserved, pending } = s.acquisitions;
  const p = schedule.active(clock.now());
  return {
    instances: { requested: fleet.requested, ...c },
    slots: {
      idle: Math.max(0, fleet.index.freeSlots - reserved),
      reserved,
      pending,
      acquired: fleet.acquired,
      unavailable,
      unhealthy,
    },
    desiredInstances: s.desiredInstances(),
    maxInstances: Number.isFinite(limit) ? limit : 0,
    capacityPerInstance: s.config.capacityPerInstance,
    maxUseCount: s.config.maxUseCount,
    policy: {
      index: p.index,
      idleCount: p.idleCount,
      idleTimeMs: p.idleTimeMs,
      scaleFactor: p.scaleFactor,
      scaleFactorLimit: p.scaleFactorLimit,
      preemptiveMode: p.preemptiveMode,
    },
    counters: { ...counters },
    histograms: {
      creationSeconds: histograms.creationSeconds.snapshot(),
      readinessSeconds: histograms.readinessSeconds.snapshot(),
      deletionSeconds: histograms.deletionSeconds.snapshot(),
      lifeSeconds: histograms.lifeSeconds.snapshot(),
    },
    lastDecision: s.latestDecision,
  };
}
