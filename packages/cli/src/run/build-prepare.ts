import { RunnerError, linkSignals, toRunnerError, type Clock } from '@fleetrunner/common';
import type { Connection } from '@fleetrunner/connector';
import { errorLine, warningLine } from '@fleetrunner/gitlab';
import type { Acquisition } from '@fleetrunner/taskscaler';
import type { Fleet } from '../fleet.js';

/** An instance slot with an open connection, ready for the executor. */
export interface PreparedInstance {
  acquisition: Acquisition;
  connection: Connection;
}

/** What {@link prepareInstance} needs. */
export interface PrepareOptions {
  fleet: Fleet;
  /** The key reserved before the job was requested. */
  key: string;
  log: (text: string) => void;
  clock: Clock;
  /** Job-level stop: aborts waiting for a slot and dialling. */
  signal: AbortSignal;
  /** `log_internal_ip` / `log_external_ip`. */
  logInternalIp?: boolean;
  logExternalIp?: boolean;
  /** Attempts, GitLab Runner's 3. */
  attempts?: number;
  /** Wait between attempts, ms; GitLab Runner's 3 s. */
  retryDelayMs?: number;
}

/**
 * GitLab Runner's executor prepare for the instance executor: acquire a slot for `key` (waiting up to
 * `instance_acquire_timeout` for a ready instance), then dial it ("Dialing instance …", "Instance … connected").
 * A failed attempt is logged as "Preparation failed" and retried after 3 s, reusing the acquisition it got; the
 * last error is thrown. A stop through `signal` is not retried.
 */
export async function prepareInstance(o: PrepareOptions): Promise<PreparedInstance> {
  const attempts = o.attempts ?? 3;
  let acq: Acquisition | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!acq || acq.signal.aborted) {
        if (acq) o.fleet.taskscaler.release(o.key);
        o.log('Preparing instance...\n');
        acq = await o.fleet.taskscaler.acquire(o.key, { signal: o.signal });
      }
      o.log(dialingLine(acq, o));
      const link = linkSignals(o.signal, acq.signal);
      try {
        const connection = await o.fleet.connector.connect(acq.connectInfo, { signal: link.signal });
        o.log(`Instance ${acq.instanceId} connected\n`);
        return { acquisition: acq, connection };
      } finally {
        link.dispose();
      }
    } catch (err) {
      const e = toRunnerError(err);
      if (o.signal.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : e;
      const what = e.code === 'acquire_timeout' ? e.message : `unable to ${acq ? 'connect to instance' : 'acquire instance'}: ${e.message}`;
      o.log(errorLine(`Preparation failed: ${what}`));
      if (attempt >= attempts || e.code === 'invalid_argument') throw new RunnerError(e.code, what, { cause: err });
      o.log(warningLine(`Will be retried in ${Math.round((o.retryDelayMs ?? 3000) / 1000)}s ...`));
      await o.clock.sleep(o.retryDelayMs ?? 3000, { signal: o.signal });
    }
  }
}

function dialingLine(acq: Acquisition, o: PrepareOptions): string {
  const parts = [`Dialing instance ${acq.instanceId}`];
  if (o.logInternalIp && acq.connectInfo.internalAddr) parts.push(acq.connectInfo.internalAddr);
  if (o.logExternalIp && acq.connectInfo.externalAddr) parts.push(acq.connectInfo.externalAddr);
  return `${parts.join(', ')}...\n`;
}
