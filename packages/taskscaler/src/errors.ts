import { RunnerError, formatGoDuration } from '@fleetrunner/common';

/**
 * `no_capacity` from reserve. `kind`: `available` = nothing ready now but instances could still be created
 * (metric operation `reserve_available_capacity_failure`); `potential` = the limits are reached
 * (`reserve_iop_capacity_failure`).
 */
export function noCapacity(kind: 'available' | 'potential', why: string): RunnerError {
  return new RunnerError('no_capacity', `reserving capacity: ${why}`, { details: { kind } });
}

export function invalidKey(key: string, state: string): RunnerError {
  return new RunnerError('invalid_argument', `key "${key}" is already in use (${state})`, { details: { key, state } });
}

export function notRunning(): RunnerError {
  return new RunnerError('unavailable', 'taskscaler is shutting down');
}

/** What an `acquire` that waited `instance_acquire_timeout` in vain rejects with. */
export function acquireTimeoutError(timeoutMs: number, fleet: string): RunnerError {
  return new RunnerError(
    'acquire_timeout',
    `acquiring instance: no slot on a ready instance became free within ${formatDuration(timeoutMs)} (instance_acquire_timeout); ${fleet}`,
    { details: { timeoutMs } },
  );
}

/** The reason an acquisition's signal fires when its instance disappears. */
export function instanceLost(id: string, how: string): RunnerError {
  return new RunnerError('instance_not_found', `instance ${id} ${how}`, { details: { instanceId: id } });
}

/** `90000` → `1m30s`: Go's time.Duration format (@fleetrunner/common), whole seconds from 1 s up, for messages. */
export function formatDuration(ms: number): string {
  return formatGoDuration(ms < 1000 ? ms : Math.round(ms / 1000) * 1000);
}
