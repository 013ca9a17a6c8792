import { Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Process series on `registry`: prom-client's default metrics (`process_*`, `nodejs_*`: CPU, resident and virtual
 * memory, open and max file descriptors, start time, V8 heap and its spaces, event-loop lag, GC, Node version)
 * and `nodejs_array_buffers_bytes`, which prom-client has not.
 */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  const buffers: Gauge = new Gauge({
    name: 'nodejs_array_buffers_bytes',
    help: 'Memory of ArrayBuffers and SharedArrayBuffers in bytes.',
    registers: [registry],
    collect: () => buffers.set(process.memoryUsage().arrayBuffers),
  });
}
