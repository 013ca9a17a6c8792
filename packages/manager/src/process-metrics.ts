import type { MetricFamily } from './metrics-registry.js';

/**
 * Process series in the names Prometheus client libraries use (`process_*`, and prom-client's `nodejs_*` for the
 * V8 heap), read at scrape time.
 */
export function processFamilies(startTimeS: number): MetricFamily[] {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const g = (name: string, help: string, value: number, type: MetricFamily['type'] = 'gauge'): MetricFamily => ({ name, help, type, samples: [{ labels: {}, value }] });
  return [
    g('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6, 'counter'),
    g('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
    g('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', startTimeS),
    g('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal),
    g('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed),
    g('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', mem.external),
    g('nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and SharedArrayBuffers in bytes.', mem.arrayBuffers),
  ];
}
