import type { Acquisitions } from './acquisitions.js';
import type { Fleet } from './fleet.js';
import type { Scaler } from './scaler.js';
import { savedInstance } from './state-image.js';
import type { SavedState } from './state-store.js';
import type { InstanceInfo, TaskscalerStats } from './stats.js';

/** Builds the stats snapshot from the fleet's running totals: no pass over the instances. */
export function buildStats(s: Scaler): TaskscalerStats {
  const { fleet, counters, histograms, limit, schedule, clock } = s.ctx;
  const c = fleet.counts;
  const unavailable = fleet.unavailableSlots;
  const unhealthy = fleet.unhealthySlots;
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
      isRunningSeconds: histograms.isRunningSeconds.snapshot(),
      readinessSeconds: histograms.readinessSeconds.snapshot(),
      deletionSeconds: histograms.deletionSeconds.snapshot(),
      lifeSeconds: histograms.lifeSeconds.snapshot(),
    },
    lastDecision: s.latestDecision,
  };
}

/** One row per known instance. */
export function instanceRows(fleet: Fleet): InstanceInfo[] {
  return [...fleet.byId.values()].map((r) => ({
    id: r.id,
    state: r.state,
    pluginState: r.pluginState,
    cause: r.cause,
    useCount: r.useCount,
    acquired: r.acquired,
    slots: r.slots.map((h) => h?.key ?? ''),
    createdAt: r.createdAt,
    readyAt: r.readyAt,
    idleSince: r.idleSince,
    failures: r.failures,
    removalReason: r.removal?.reason,
  }));
}

/** What the state file holds: every known instance with its use count and live acquisitions. */
export function snapshotState(fleet: Fleet, acquisitions: Acquisitions, now: number): SavedState {
  const instances = [...fleet.byId.values()].map((r) => savedInstance(r, (x) => acquisitions.saved(x)));
  return { version: 1, savedAt: now, instances };
}
