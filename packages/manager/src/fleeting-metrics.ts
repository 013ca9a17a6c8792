import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { HistogramSnapshot, TaskscalerStats } from '@fleetrunner/taskscaler';
import type { RunnerLabels } from './manager-metrics.js';

/** One autoscaler's numbers at scrape time, with the labels of its runner. */
export interface FleetSample {
  labels: RunnerLabels;
  stats: TaskscalerStats;
}

/** Label names every fleeting series carries (upstream registers its collectors per scaler with these). */
const RUNNER_LABELS = ['runner', 'runner_name', 'system_id'] as const;

/** `fleeting_provisioner_instances{state}` values, as upstream's dashboards select them. */
export const PROVISIONER_STATES = ['requested', 'creating', 'running', 'deleting'] as const;
export type ProvisionerState = (typeof PROVISIONER_STATES)[number];

/**
 * The provisioner's view of the taskscaler's instance states: the provisioner knows what the plugin reports
 * (creating → running → deleting) plus what was asked for and not reported yet. Readiness (`readying`, `ready`),
 * `draining` and `unhealthy` are the taskscaler's view of instances the plugin has running; an instance marked for
 * removal (`removing`) is being deleted.
 */
export function provisionerStates(instances: TaskscalerStats['instances']): Record<ProvisionerState, number> {
  return {
    requested: instances.requested,
    creating: instances.creating,
    running: instances.readying + instances.ready + instances.draining + instances.unhealthy,
    deleting: instances.removing + instances.deleting,
  };
}

/** A family read from the stats: a single value, or one value per value of `label`. */
interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  label?: string;
  read(s: TaskscalerStats): number | Readonly<Record<string, number>>;
}

const FAMILIES: readonly Family[] = [
  { name: 'fleeting_provisioner_instances', help: 'The current number of instances by state', type: 'gauge', label: 'state', read: (s) => provisionerStates(s.instances) },
  { name: 'fleeting_provisioner_max_instances', help: 'The maximum number of instances', type: 'gauge', read: (s) => s.maxInstances },
  { name: 'fleeting_provisioner_missed_updates_total', help: 'Update cycles that were skipped or failed', type: 'counter', read: (s) => s.counters.missedUpdates },
  {
    name: 'fleeting_provisioner_instance_operations_total',
    help: 'Instance operations by kind',
    type: 'counter',
    label: 'operation',
    read: ({ counters: c }) => ({
      create: c.instancesRequested,
      create_failure: c.instancesRequestFailed,
      remove: c.instancesRemoved,
      remove_failure: c.decreaseRefused,
      ready_failure: c.readyFailures,
      health_failure: c.healthFailures,
      unexpected_removal: c.unexpectedRemovals,
      request_expired: c.requestsExpired,
    }),
  },
  {
    name: 'fleeting_provisioner_internal_operations_total',
    help: 'Plugin calls by kind',
    type: 'counter',
    label: 'operation',
    read: ({ counters: c }) => ({ update: c.updates, increase: c.increaseCalls, decrease: c.decreaseCalls }),
  },
  { name: 'fleeting_taskscaler_tasks', help: 'Slots by state', type: 'gauge', label: 'state', read: (s) => s.slots },
  { name: 'fleeting_taskscaler_max_tasks_per_instance', help: 'capacity_per_instance', type: 'gauge', read: (s) => s.capacityPerInstance },
  { name: 'fleeting_taskscaler_max_use_count_per_instance', help: 'max_use_count', type: 'gauge', read: (s) => s.maxUseCount },
  {
    name: 'fleeting_taskscaler_task_operations_total',
    help: 'Slot operations by kind',
    type: 'counter',
    label: 'operation',
    read: ({ counters: c }) => ({
      reserve: c.reserves,
      reserve_available_capacity_failure: c.reserveFailedAvailable,
      reserve_iop_capacity_failure: c.reserveFailedPotential,
      acquire: c.acquires,
      acquire_timeout: c.acquireTimeouts,
      release: c.releases,
    }),
  },
  {
    name: 'fleeting_taskscaler_scale_operations_total',
    help: 'Instances asked for (up) and removed (down)',
    type: 'counter',
    label: 'operation',
    read: ({ counters: c }) => ({ up: c.instancesRequested, down: c.instancesRemoved }),
  },
  { name: 'fleeting_taskscaler_desired_instances', help: 'Instances wanted by the last scaling decision', type: 'gauge', read: (s) => s.desiredInstances },
];

/**
 * Histograms whose buckets and counts the taskscaler keeps (cumulative, in each autoscaler's configured
 * `instance_*_buckets`). `…_creation_time_seconds` and `…_is_running_time_seconds` both time "asked for → running"
 * (the taskscaler does not time "first seen" separately), each in its own buckets.
 */
const HISTOGRAMS: readonly { name: string; help: string; read(s: TaskscalerStats): HistogramSnapshot }[] = [
  { name: 'fleeting_provisioner_instance_creation_time_seconds', help: 'Time from asking for an instance until it runs', read: (s) => s.histograms.creationSeconds },
  { name: 'fleeting_provisioner_instance_is_running_time_seconds', help: 'Time from asking for an instance until it runs', read: (s) => s.histograms.isRunningSeconds },
  { name: 'fleeting_provisioner_instance_deletion_time_seconds', help: 'Time from removal until the instance is gone', read: (s) => s.histograms.deletionSeconds },
  { name: 'fleeting_provisioner_instance_life_duration_seconds', help: 'Instance lifetime', read: (s) => s.histograms.lifeSeconds },
  { name: 'fleeting_taskscaler_task_instance_readiness_time_seconds', help: 'Time from asking for an instance until it takes work', read: (s) => s.histograms.readinessSeconds },
];

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A histogram family exposed from snapshots the taskscaler already aggregated. prom-client's `Histogram` only
 * counts its own observations into one bucket list per family, while each autoscaler has its own buckets; this
 * object gives the registry the same `get()` result a prom-client histogram gives (`_bucket` with `le`, `_sum`,
 * `_count`), so the registry writes it like any other family.
 */
class SnapshotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = RUNNER_LABELS;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly values: () => Value[],
  ) {}

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() });
  }

  reset(): void {
    // the counts live in the taskscalers
  }
}

function snapshotValues(name: string, labels: RunnerLabels, h: HistogramSnapshot): Value[] {
  const out: Value[] = h.buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: Number.isFinite(b.le) ? String(b.le) : '+Inf' }, value: b.count }));
  if (!h.buckets.some((b) => b.le === Infinity)) out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels: { ...labels }, value: h.sum }, { metricName: `${name}_count`, labels: { ...labels }, value: h.count });
  return out;
}

/**
 * Registers the `fleeting_provisioner_*` and `fleeting_taskscaler_*` families on `registry`; each reads the
 * autoscalers' stats `samples()` returns at scrape time.
 */
export function registerFleetingMetrics(registry: Registry, samples: () => readonly FleetSample[]): void {
  for (const f of FAMILIES) {
    const labelNames = f.label ? [...RUNNER_LABELS, f.label] : [...RUNNER_LABELS];
    const fill = (set: (labels: Record<string, string>, v: number) => void): void => {
      for (const { labels, stats } of samples()) {
        const v = f.read(stats);
        if (typeof v === 'number') set({ ...labels }, v);
        else for (const [k, n] of Object.entries(v)) set({ ...labels, [f.label!]: k }, n);
      }
    };
    if (f.type === 'gauge') {
      const g: Gauge<string> = new Gauge({ name: f.name, help: f.help, labelNames, registers: [registry], collect: () => (g.reset(), fill((l, v) => g.set(l, v))) });
    } else {
      const c: Counter<string> = new Counter({ name: f.name, help: f.help, labelNames, registers: [registry], collect: () => (c.reset(), fill((l, v) => c.inc(l, v))) });
    }
  }
  for (const h of HISTOGRAMS) {
    const metric = new SnapshotHistogram(h.name, h.help, () => samples().flatMap(({ labels, stats }) => snapshotValues(h.name, labels, h.read(stats))));
    registry.registerMetric(metric as unknown as Metric);
  }
}
