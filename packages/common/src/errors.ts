/**
 * Stable error codes shared by every package. Callers branch on `code`, never on message text.
 * Codes are strings so they survive JSON, gRPC metadata and logs unchanged.
 */
export type ErrorCode =
  | 'internal'
  | 'invalid_argument'
  | 'not_found'
  | 'unavailable'
  | 'timeout'
  | 'aborted'
  | 'unsupported'
  // fleeting
  | 'instance_unhealthy'
  | 'instance_not_found'
  | 'plugin_start_failed'
  | 'plugin_handshake'
  | 'plugin_crashed'
  /** The plugin process is down and being restarted (transient: retry later, do not blame the instance). */
  | 'plugin_restarting'
  | 'plugin_error'
  // capacity and connection
  | 'no_capacity'
  | 'acquire_timeout'
  | 'auth_failed'
  | 'connection_refused'
  | 'host_key_changed'
  | 'channel_open_failed';

/** An error with a stable `code`, an optional `cause`, and optional structured details. */
export class RunnerError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunnerError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /**
   * Wraps `err` with a gerund context (`connecting to plugin: <cause message>`), keeping the cause's code
   * unless another one is given.
   */
  static wrap(context: string, err: unknown, code?: ErrorCode): RunnerError {
    const inner = toRunnerError(err);
    return new RunnerError(code ?? inner.code, `${context}: ${inner.message}`, { cause: err, details: inner.details });
  }
}

/** Narrows anything thrown to a RunnerError (unknown errors become `internal`, aborts become `aborted`). */
export function toRunnerError(err: unknown): RunnerError {
  if (err instanceof RunnerError) return err;
  if (err instanceof Error) {
    if (err.name === 'AbortError') return new RunnerError('aborted', err.message || 'aborted', { cause: err });
    if (err.name === 'TimeoutError') return new RunnerError('timeout', err.message || 'timed out', { cause: err });
    return new RunnerError('internal', err.message, { cause: err });
  }
  return new RunnerError('internal', String(err));
}

/** True when `err` is a RunnerError with one of the given codes. */
export function hasCode(err: unknown, ...codes: ErrorCode[]): err is RunnerError {
  return err instanceof RunnerError && codes.includes(err.code);
}
