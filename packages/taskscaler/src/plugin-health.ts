import { RunnerError, hasCode, type Logger } from '@fleetrunner/common';

/**
 * Whether the fleeting plugin process is up, as plugin calls tell. A call failing with `plugin_restarting` marks
 * it down: the instances are fine, only the process that manages them is gone (and being restarted). The next
 * call that succeeds marks it up again. While it is down, slots are not handed out (acquisitions wait, bounded by
 * instance_acquire_timeout), scale-up and heartbeats pause, and failed calls count neither as health failures nor
 * toward the scale-up back-off.
 */
export class PluginHealth {
  private downError: RunnerError | undefined;
  private recovered = false;

  constructor(
    private readonly logger: Logger,
    /** Called when the plugin is back (asks for a scaling pass). */
    private readonly onUp: () => void,
  ) {}

  /** The error that told the plugin is down (`fleeting plugin … is not running (restarting): …`); undefined when up. */
  get down(): RunnerError | undefined {
    return this.downError;
  }

  /** Looks at a failed plugin call; true (and the plugin marked down) when it failed because the process is down. */
  failed(err: unknown): boolean {
    if (!hasCode(err, 'plugin_restarting')) return false;
    // The innermost error carries the plugin's own words, without the call contexts wrapped around it.
    let inner: RunnerError = err;
    while (hasCode(inner.cause, 'plugin_restarting')) inner = inner.cause;
    if (!this.downError) this.logger.warn('fleeting plugin is down; new work waits for its restart', { err: inner.message });
    this.downError = inner;
    return true;
  }

  /** A plugin call succeeded: the plugin is up. */
  succeeded(): void {
    if (!this.downError) return;
    this.downError = undefined;
    this.recovered = true;
    this.logger.info('fleeting plugin is back');
    this.onUp();
  }

  /** True once after the plugin came back: the scaling pass then hands out the slots that waited. */
  takeRecovered(): boolean {
    const r = this.recovered;
    this.recovered = false;
    return r;
  }
}
