import t from 'tap';
import { FakeClock, RunnerError } from '@fleetrunner/common';
import {
  runConformance,
  defaultConnectorConfig,
  type InstanceGroup,
  type InstanceStatus,
  type ConnectInfo,
} from '../src/index.js';

/** A group with switchable defects; instances are running as soon as they are created. */
class TinyGroup implements InstanceGroup {
  instances = new Map<string, InstanceStatus>();
  next = 0;
  constructor(private readonly defects: { acceptUnknown?: boolean; keepDeleted?: boolean; lieIncrease?: boolean } = {}) {}
  async init() {
    return { id: 'tiny/test/g', maxSize: 10, version: '1.0.0', buildInfo: '', capabilities: [] };
  }
  async update() {
    return [...this.instances.values()];
  }
  async increase(delta: number) {
    const n = this.defects.lieIncrease ? delta - 1 : delta;
    for (let i = 0; i < n; i++) {
      const id = `i-${this.next++}`;
      this.instances.set(id, { id, state: 'running' });
    }
    return { succeeded: delta };
  }
  async decrease(ids: readonly string[]) {
    const ok = ids.filter((id) => this.defects.acceptUnknown || this.instances.has(id));
    if (!this.defects.keepDeleted) for (const id of ok) this.instances.delete(id);
    return { succeeded: ok, ...(ok.length < ids.length ? { error: new Error('some ids unknown') } : {}) };
  }
  async connectInfo(id: string): Promise<ConnectInfo> {
    if (!this.instances.has(id)) throw new RunnerError('instance_not_found', `no instance ${id}`);
    return { ...defaultConnectorConfig(), id, internalAddr: '192.0.2.1', externalAddr: '' };
  }
  async heartbeat() {}
  async shutdown() {}
}

const opts = (clock: FakeClock) => ({ pluginConfig: {}, skipSsh: true, clock, timeoutMs: 5_000, pollIntervalMs: 1_000 });

t.test('a correct group passes every check', async (t) => {
  const clock = new FakeClock();
  const report = await runConformance(new TinyGroup(), opts(clock));
  t.ok(report.passed, `every check passes (failed: ${report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.detail}`).join('; ') || 'none'})`);
  t.equal(report.checks.length, 10);
  t.equal(report.provider?.id, 'tiny/test/g');
});

t.test('defects are reported by the check that names them', async (t) => {
  const cases = [
    { name: 'accepting unknown ids on decrease', defects: { acceptUnknown: true }, check: 'partial decrease is reported' },
    { name: 'instances that never go away', defects: { keepDeleted: true }, check: 'decrease removes the instances' },
    { name: 'increase that over-reports', defects: { lieIncrease: true }, check: 'instances become running' },
  ];
  for (const c of cases) {
    const clock = new FakeClock();
    const group = new TinyGroup(c.defects);
    const running = runConformance(group, opts(clock));
    // Drive the fake clock until the suite finishes (it polls with clock.sleep).
    let done = false;
    void running.finally(() => (done = true));
    while (!done) await clock.advance(1_000);
    const report = await running;
    t.notOk(report.passed, `${c.name}: the suite fails`);
    const failed = report.checks.filter((x) => x.status === 'fail').map((x) => x.name);
    t.ok(failed.includes(c.check), `${c.name}: fails "${c.check}" (failed: ${failed.join(', ')})`);
  }
});
