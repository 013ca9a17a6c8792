import type { HistogramSnapshot, TaskscalerStats } from '@fleetrunner/taskscaler';
import { histogramSamples, type Labels, type MetricFamily, type Sample } from './metrics-registry.js';

function gauge(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: 'gauge', samples };
}

function counter(name: string, help: string, samples: Sample[]): MetricFamily {
  return { name, help, type: 'counter', samples };
}

function histogram(name: string, help: string, labels: Labels, h: HistogramSnapshot): MetricFamily {
  const samples = histogramSamples(
    labels,
    h.buckets.map((b) => b.le),
    h.buckets.map((b) => b.count),
    h.sum,
    h.count,
    true,
  );
  return { name, help, type: 'histogram', samples };
}

function byLabel(labels: Labels, label: string, values: Record<string, number>): Sample[] {
  return Object.entries(values).map(([k, v]) => ({ labels: { ...labels, [label]: k }, value: v }));
}

/**
 * The `fleeting_provisioner_*` and `fleeting_taskscaler_*` series of one runner's taskscaler, read from its stats
 * at scrape time. `fleeting_provisioner_instance_creation_time_seconds` and `…_is_running_time_seconds` both time
 * "asked for → running" (the taskscaler does not time "first seen" separately), each in its configured buckets.
 */
export function fleetingFamilies(labels: Labels, s: TaskscalerStats): MetricFamily[] {
  const c = s.counters;
  return [
    gauge('fleeting_provisioner_instances', 'The current number of instances by state', byLabel(labels, 'state', { ...s.instances })),
    gauge('fleeting_provisioner_max_instances', 'The maximum number of instances', [{ labels, value: s.maxInstances }]),
    counter('fleeting_provisioner_missed_updates_total', 'Update cycles that were skipped or failed', [{ labels, value: c.missedUpdates }]),
    counter(
      'fleeting_provisioner_instance_operations_total',
      'Instance operations by kind',
      byLabel(labels, 'operation', {
        create: c.instancesRequested,
        create_failure: c.instancesRequestFailed,
        remove: c.instancesRemoved,
        remove_failure: c.decreaseRefused,
        ready_failure: c.readyFailures,
        health_failure: c.healthFailures,
        unexpected_removal: c.unexpectedRemovals,
        request_expired: c.requestsExpired,
      }),
    ),
    counter(
      'fleeting_provisioner_internal_operations_total',
      'Plugin calls by kind',
      byLabel(labels, 'operation', { update: c.updates, increase: c.increaseCalls, decrease: c.decreaseCalls }),
    ),
    histogram('fleeting_provisioner_instance_creation_time_seconds', 'Time from asking for an instance until it runs', labels, s.histograms.creationSeconds),
    histogram('fleeting_provisioner_instance_is_running_time_seconds', 'Time from asking for an instance until it runs', labels, s.histograms.isRunningSeconds),
    histogram('fleeting_provisioner_instance_deletion_time_seconds', 'Time from removal until the instance is gone', labels, s.histograms.deletionSeconds),
    histogram('fleeting_provisioner_instance_life_duration_seconds', 'Instance lifetime', labels, s.histograms.lifeSeconds),
    gauge('fleeting_taskscaler_tasks', 'Slots by state', byLabel(labels, 'state', { ...s.slots })),
    gauge('fleeting_taskscaler_max_tasks_per_instance', 'capacity_per_instance', [{ labels, value: s.capacityPerInstance }]),
    gauge('fleeting_taskscaler_max_use_count_per_instance', 'max_use_count', [{ labels, value: s.maxUseCount }]),
    counter(
      'fleeting_taskscaler_task_operations_total',
      'Slot operations by kind',
      byLabel(labels, 'operation', {
        reserve: c.reserves,
        reserve_available_capacity_failure: c.reserveFailedAvailable,
        reserve_iop_capacity_failure: c.reserveFailedPotential,
        acquire: c.acquires,
        acquire_timeout: c.acquireTimeouts,
        release: c.releases,
      }),
    ),
    counter('fleeting_taskscaler_scale_operations_total', 'Instances asked for (up) and removed (down)', byLabel(labels, 'operation', { up: c.instancesRequested, down: c.instancesRemoved })),
    gauge('fleeting_taskscaler_desired_instances', 'Instances wanted by the last scaling decision', [{ labels, value: s.desiredInstances }]),
    histogram('fleeting_taskscaler_task_instance_readiness_time_seconds', 'Time from asking for an instance until it takes work', labels, s.histograms.readinessSeconds),
  ];
}
