import * as grpc from '@grpc/grpc-js';
import { RunnerError, toRunnerError, type ErrorCode } from '@fleetrunner/common';
import type { fleetingV1 } from '@fleetrunner/proto';
import { isServiceError, type StatusLike } from '@fleetrunner/plugin';

/** Trailing metadata key that carries our stable error code across the wire, both ways. */
export const ERROR_CODE_METADATA_KEY = 'fleeting-error-code';

/** Codes that keep their identity across the wire; anything else arrives as `plugin_error`. */
const WIRE_CODES = new Set<string>([
  'invalid_argument',
  'not_found',
  'unavailable',
  'timeout',
  'aborted',
  'unsupported',
  'instance_unhealthy',
  'instance_not_found',
  'plugin_error',
  'no_capacity',
  'auth_failed',
] satisfies ErrorCode[]);

function wireCode(s: string): ErrorCode {
  return WIRE_CODES.has(s) ? (s as ErrorCode) : 'plugin_error';
}

const STATUS_OF: Partial<Record<ErrorCode, grpc.status>> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  instance_not_found: grpc.status.NOT_FOUND,
  instance_unhealthy: grpc.status.FAILED_PRECONDITION,
  unsupported: grpc.status.FAILED_PRECONDITION,
  no_capacity: grpc.status.RESOURCE_EXHAUSTED,
  auth_failed: grpc.status.PERMISSION_DENIED,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  aborted: grpc.status.CANCELLED,
  unavailable: grpc.status.UNAVAILABLE,
};

const CODE_OF_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.DEADLINE_EXCEEDED]: 'timeout',
  [grpc.status.CANCELLED]: 'aborted',
  [grpc.status.UNIMPLEMENTED]: 'unsupported',
};

/**
 * Server side: an InstanceGroup's error as a gRPC status. The message travels as the status details (plain errors
 * as UNKNOWN, like a Go plugin's), the code in trailing metadata `fleeting-error-code`.
 */
export function statusFromError(err: unknown): StatusLike {
  const e = toRunnerError(err);
  const code: ErrorCode = e.code === 'internal' ? 'plugin_error' : e.code;
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, code);
  return { code: STATUS_OF[code] ?? grpc.status.UNKNOWN, details: e.message, metadata };
}

/** The stable code a failed call's trailing metadata carries, if any. */
export function metadataErrorCode(err: grpc.ServiceError): ErrorCode | undefined {
  const v = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  return typeof v === 'string' && v !== '' ? wireCode(v) : undefined;
}

/**
 * Client side: a failed call as a RunnerError wrapped with `context`. The metadata code wins; otherwise the
 * status code maps to the nearest of ours (third-party plugins), else `plugin_error`. Non-gRPC errors (an
 * aborted signal's reason, a crash) keep their codes.
 */
export function errorFromCall(err: unknown, context: string): RunnerError {
  if (!isServiceError(err)) return RunnerError.wrap(context, err);
  const code = metadataErrorCode(err) ?? CODE_OF_STATUS[err.code] ?? 'plugin_error';
  return new RunnerError(code, `${context}: ${err.details || err.message}`, { cause: err, details: { grpcStatus: err.code } });
}

/** A partial-success error as it travels inside Increase/Decrease responses. */
export function toPluginError(err: Error | undefined): fleetingV1.PluginError | null {
  if (!err) return null;
  const code = err instanceof RunnerError && err.code !== 'internal' ? err.code : 'plugin_error';
  return { code, message: err.message };
}

/** The RunnerError a response's PluginError stands for; undefined when none. */
export function fromPluginError(pe: fleetingV1.PluginError | null | undefined): RunnerError | undefined {
  if (!pe || (pe.code === '' && pe.message === '')) return undefined;
  return new RunnerError(wireCode(pe.code), pe.message || pe.code);
}
