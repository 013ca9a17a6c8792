import { RunnerError, nullLogger, systemClock, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import type { InstanceGroup } from '../instance-group.js';
import { defaultConnectorConfig, type ConnectorConfig, type InstanceStatus, type ProviderInfo } from '../types.js';
import { sshProbe } from './ssh-probe.js';

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** The `[runners.autoscaler.plugin_config]` table for the plugin under test. */
  pluginConfig: unknown;
  connector?: Partial<ConnectorConfig>;
  /** Instances to create; default 2. */
  instances?: number;
  /** Bound for each waiting step (instances running, instances gone), ms; default 180000. */
  timeoutMs?: number;
  /** Delay between `update` polls, ms; default 500. */
  pollIntervalMs?: number;
  /** Skip the SSH reachability check (plugins whose instances speak WinRM). Default: false. */
  skipSsh?: boolean;
  clock?: Clock;
  logger?: Logger;
  signal?: AbortSignal;
  /** Called as each check finishes (for live progress output). */
  onCheck?: (check: CheckResult) => void;
}

/** Outcome of one conformance check. */
export interface CheckResult {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  durationMs: number;
  detail: string;
}

/** All checks, in order, and whether every one passed. */
export interface ConformanceReport {
  provider?: ProviderInfo;
  checks: CheckResult[];
  passed: boolean;
}

/** Thrown inside a check to fail it with a message. */
class CheckFailure extends Error {}

function expect(cond: boolean, message: string): asserts cond {
  if (!cond) throw new CheckFailure(message);
}

/**
 * Runs the fleeting conformance suite against any InstanceGroup (in-process, or a plugin process behind
 * `runPlugin`): init, increase until running, connect info that reaches the instance over SSH, heartbeat, unknown
 * ids rejected, partial decrease reported, decrease until gone, shutdown, and nothing left behind. Instances that
 * existed before the run are never touched. Instances it created are deleted even when a check fails.
 */
export async function runConformance(group: InstanceGroup, options: ConformanceOptions): Promise<ConformanceReport> {
  const ctx = new SuiteContext(group, options);
  try {
    await ctx.run();
  } finally {
    await ctx.cleanup();
  }
  return { provider: ctx.provider, checks: ctx.checks, passed: ctx.checks.every((c) => c.status !== 'fail') };
}

class SuiteContext {
  readonly checks: CheckResult[] = [];
  provider: ProviderInfo | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly want: number;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private preexisting = new Set<string>();
  private created: string[] = [];
  private deleted = new Set<string>();
  private stop = false;
  private shutDown = false;

  constructor(
    private readonly group: InstanceGroup,
    private readonly options: ConformanceOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.want = options.instances ?? 2;
    this.timeoutMs = options.timeoutMs ?? 180_000;
    this.pollMs = options.pollIntervalMs ?? 500;
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** Runs one check; after a failed check that later checks depend on, they are skipped. */
  private async check(name: string, fn: () => Promise<string>, { critical = false } = {}): Promise<void> {
    const started = this.clock.now();
    let result: CheckResult;
    if (this.stop) {
      result = { name, status: 'skip', durationMs: 0, detail: 'skipped: an earlier check failed' };
    } else {
      try {
        const detail = await fn();
        result = { name, status: 'pass', durationMs: this.clock.now() - started, detail };
      } catch (err) {
        const message = err instanceof CheckFailure ? err.message : toRunnerError(err).message;
        result = { name, status: 'fail', durationMs: this.clock.now() - started, detail: message };
        if (critical) this.stop = true;
      }
    }
    this.checks.push(result);
    this.logger.debug('conformance check', { check: name, status: result.status, detail: result.detail });
    this.options.onCheck?.(result);
  }

  async run(): Promise<void> {
    const connector = defaultConnectorConfig(this.options.connector);
    await this.check('init returns provider info', async () => {
      const info = await this.group.init({ pluginConfig: this.options.pluginConfig, connector }, { signal: this.signal, logger: this.logger });
      expect(typeof info.id === 'string' && info.id.length > 0, 'provider id is empty');
      expect(Number.isInteger(info.maxSize) && info.maxSize > 0, `max size must be a positive integer, got ${info.maxSize}`);
      this.provider = info;
      return `id=${info.id} max_size=${info.maxSize} version=${info.version || '(none)'}`;
    }, { critical: true });
    await this.check('update lists the group', async () => {
      const list = await this.group.update({ signal: this.signal });
      validateStatuses(list);
      this.preexisting = new Set(list.map((i) => i.id));
      return `${list.length} instance(s) before the run`;
    }, { critical: true });
    await this.check(`increase by ${this.want}`, async () => {
      const res = await this.group.increase(this.want, { signal: this.signal });
      expect(res.succeeded === this.want, `succeeded ${res.succeeded} of ${this.want}${res.error ? `: ${res.error.message}` : ''}`);
      return `succeeded=${res.succeeded}`;
    }, { critical: true });
    await this.check('instances become running', async () => {
      const running = await this.pollUntil((list) => {
        const mine = list.filter((i) => !this.preexisting.has(i.id) && i.state === 'running');
        return mine.length >= this.want ? mine : undefined;
      }, `${this.want} new running instance(s)`);
      this.created = running.map((i) => i.id);
      return `running: ${this.created.join(', ')}`;
    }, { critical: true });
    await this.check('connect info reaches each instance over SSH', () => this.checkConnect());
    await this.check('heartbeat of a running instance succeeds', async () => {
      await this.group.heartbeat(this.created[0]!, { signal: this.signal });
      return `heartbeat ${this.created[0]} ok`;
    });
    await this.check('connect info of an unknown instance is rejected', async () => {
      const bogus = `fleeting-conformance-missing-${this.clock.now()}`;
      const outcome = await this.group.connectInfo(bogus, { signal: this.signal }).then(
        () => undefined,
        (err: unknown) => toRunnerError(err),
      );
      expect(outcome !== undefined, `connectInfo(${bogus}) resolved instead of failing`);
      return `rejected with code ${outcome.code}: ${outcome.message}`;
    });
    await this.check('partial decrease is reported', () => this.checkPartialDecrease());
    await this.check('decrease removes the instances', () => this.checkDecrease());
    await this.check('shutdown is clean and idempotent', async () => {
      await this.group.shutdown({ signal: this.signal });
      this.shutDown = true;
      await this.group.shutdown({ signal: this.signal });
      return 'ok';
    });
  }

  private async checkConnect(): Promise<string> {
    const lines: string[] = [];
    for (const id of this.created) {
      const info = await this.group.connectInfo(id, { signal: this.signal });
      expect(info.id === id, `connectInfo(${id}) returned id ${JSON.stringify(info.id)}`);
      expect(Boolean(info.internalAddr || info.externalAddr), `connectInfo(${id}) has no address`);
      if (this.options.skipSsh || info.protocol !== 'ssh') {
        lines.push(`${id}: ${info.protocol} ${info.internalAddr || info.externalAddr} (not dialled)`);
        continue;
      }
      const nonce = `fleeting-conformance-${id}-${this.clock.now()}`;
      const out = await sshProbe(info, `echo ${nonce}`, { timeoutMs: 30_000, clock: this.clock, signal: this.signal });
      expect(out.code === 0, `ssh command on ${id} exited with ${out.code}`);
      expect(out.stdout.trim() === nonce, `ssh output on ${id} was ${JSON.stringify(out.stdout)}`);
      lines.push(`${id}: ${info.username}@${info.internalAddr || info.externalAddr}:${info.protocolPort || 22}`);
    }
    return lines.join('; ');
  }

  private async checkPartialDecrease(): Promise<string> {
    const real = this.created[0]!;
    const bogus = `fleeting-conformance-missing-${this.clock.now()}`;
    const res = await this.group.decrease([real, bogus], { signal: this.signal });
    for (const id of res.succeeded) this.deleted.add(id);
    expect(!res.succeeded.includes(bogus), `decrease accepted unknown id ${bogus}`);
    expect(res.succeeded.includes(real), `decrease did not accept ${real}${res.error ? `: ${res.error.message}` : ''}`);
    const empty = await this.group.decrease([], { signal: this.signal });
    expect(empty.succeeded.length === 0, 'decrease([]) returned ids');
    return `accepted [${res.succeeded.join(', ')}]${res.error ? `, error: ${res.error.message}` : ', no error reported'}`;
  }

  private async checkDecrease(): Promise<string> {
    const rest = this.created.filter((id) => !this.deleted.has(id));
    if (rest.length > 0) {
      const res = await this.group.decrease(rest, { signal: this.signal });
      for (const id of res.succeeded) this.deleted.add(id);
      expect(res.succeeded.length === rest.length, `decrease accepted ${res.succeeded.length} of ${rest.length}${res.error ? `: ${res.error.message}` : ''}`);
    }
    await this.pollUntil((list) => (this.remaining(list).length === 0 ? list : undefined), 'created instances to be gone');
    return `${this.created.length} instance(s) gone`;
  }

  /** Created instances still reported and not deleted. */
  private remaining(list: InstanceStatus[]): InstanceStatus[] {
    const mine = new Set(this.created);
    return list.filter((i) => mine.has(i.id) && i.state !== 'deleted');
  }

  private async pollUntil<T>(fn: (list: InstanceStatus[]) => T | undefined, what: string): Promise<T> {
    const deadline = this.clock.now() + this.timeoutMs;
    let last: InstanceStatus[] = [];
    for (;;) {
      last = await this.group.update({ signal: this.signal });
      validateStatuses(last);
      const got = fn(last);
      if (got !== undefined) return got;
      if (this.clock.now() >= deadline) {
        const seen = last.map((i) => `${i.id}=${i.state}`).join(', ') || 'none';
        throw new CheckFailure(`timed out after ${this.timeoutMs} ms waiting for ${what}; last update: ${seen}`);
      }
      await this.clock.sleep(this.pollMs, { signal: this.signal });
    }
  }

  /** Deletes whatever the run created and did not delete (best effort), and shuts the group down. */
  async cleanup(): Promise<void> {
    // After a clean shutdown every created instance was already verified gone.
    if (this.shutDown) return;
    try {
      const list = await this.group.update();
      const leftovers = list.filter((i) => !this.preexisting.has(i.id) && i.state !== 'deleted' && i.state !== 'deleting').map((i) => i.id);
      const extra = leftovers.filter((id) => !this.deleted.has(id));
      if (extra.length > 0) {
        this.logger.warn('conformance: deleting instances left by the run', { ids: extra.join(',') });
        await this.group.decrease(extra);
      }
    } catch (err) {
      this.logger.warn('conformance: cleanup failed', { error: toRunnerError(err).message });
    }
    await this.group.shutdown().catch(() => undefined);
  }
}

function validateStatuses(list: InstanceStatus[]): void {
  const seen = new Set<string>();
  for (const i of list) {
    if (!i.id) throw new RunnerError('plugin_error', 'update reported an instance with an empty id');
    if (seen.has(i.id)) throw new RunnerError('plugin_error', `update reported instance ${i.id} twice`);
    seen.add(i.id);
  }
}
