import * as grpc from '@grpc/grpc-js';
import { RunnerError, type ErrorCode } from '@fleetrunner/common';

/** The daemon's status messages for its two FailedPrecondition errors (as upstream's daemon sends them). */
export const NOT_INITIALIZED_MESSAGE = 'not initialized';
export const ALREADY_INITIALIZED_MESSAGE = 'already initialized';

/** RunnerError codes for the gRPC statuses the daemon answers with. */
const CODE_OF_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.DEADLINE_EXCEEDED]: 'timeout',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.CANCELLED]: 'aborted',
  [grpc.status.UNIMPLEMENTED]: 'unsupported',
  [grpc.status.FAILED_PRECONDITION]: 'unavailable',
};

/**
 * A failed call of the nesting API: `status` is the gRPC status code the daemon answered with (or the transport
 * produced), `code` the matching stable RunnerError code.
 */
export class NestingError extends RunnerError {
  readonly status: grpc.status;

  constructor(status: grpc.status, message: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? CODE_OF_STATUS[status] ?? 'internal', message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'NestingError';
    this.status = status;
  }
}

/** The daemon has not been sent Init yet (status FailedPrecondition, `not initialized`). */
export class NotInitializedError extends NestingError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(grpc.status.FAILED_PRECONDITION, message, options);
    this.name = 'NotInitializedError';
  }
}

/** Init was sent to a daemon that already has its configuration (status FailedPrecondition, `already initialized`). */
export class AlreadyInitializedError extends NestingError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(grpc.status.FAILED_PRECONDITION, message, options);
    this.name = 'AlreadyInitializedError';
  }
}

/** True when `err` is a grpc-js status error. */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err;
}

/**
 * Translates a grpc-js error of a call into a NestingError: `context` names the call ("creating a VM from image
 * x"), the daemon's message follows. FailedPrecondition with the daemon's two messages become the typed errors.
 */
export function fromServiceError(context: string, err: unknown): NestingError {
  if (err instanceof NestingError) return err;
  if (!isServiceError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new NestingError(grpc.status.UNKNOWN, `${context}: ${message}`, { cause: err });
  }
  const details = err.details || grpc.status[err.code] || 'unknown error';
  const message = `${context}: ${details}`;
  if (err.code === grpc.status.FAILED_PRECONDITION) {
    if (details === NOT_INITIALIZED_MESSAGE) return new NotInitializedError(message, { cause: err });
    if (details === ALREADY_INITIALIZED_MESSAGE) return new AlreadyInitializedError(message, { cause: err });
  }
  return new NestingError(err.code, message, { cause: err });
}

/** A status for a server handler to fail with. */
export class NestingStatus extends Error {
  constructor(
    readonly status: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'NestingStatus';
  }
}

/** Bad input from the caller (unknown image, slot out of range): InvalidArgument. */
export function invalidArgument(message: string): NestingStatus {
  return new NestingStatus(grpc.status.INVALID_ARGUMENT, message);
}

/** An unknown VM id: NotFound. */
export function notFound(message: string): NestingStatus {
  return new NestingStatus(grpc.status.NOT_FOUND, message);
}

/** A VM that did not get an address in time: DeadlineExceeded. */
export function deadlineExceeded(message: string): NestingStatus {
  return new NestingStatus(grpc.status.DEADLINE_EXCEEDED, message);
}

/** What a server answers for an error a hypervisor threw. */
export function statusOf(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof NestingStatus) return { code: err.status, details: err.message };
  if (err instanceof NestingError) return { code: err.status, details: err.message };
  if (err instanceof RunnerError) {
    const code =
      err.code === 'invalid_argument'
        ? grpc.status.INVALID_ARGUMENT
        : err.code === 'not_found'
          ? grpc.status.NOT_FOUND
          : err.code === 'timeout'
            ? grpc.status.DEADLINE_EXCEEDED
            : err.code === 'aborted'
              ? grpc.status.CANCELLED
              : err.code === 'unsupported'
                ? grpc.status.UNIMPLEMENTED
                : grpc.status.INTERNAL;
    return { code, details: err.message };
  }
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}
