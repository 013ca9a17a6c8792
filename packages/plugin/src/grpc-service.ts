import * as grpc from '@grpc/grpc-js';
import { abortError } from '@fleetrunner/common';
import type { MethodDef } from '@fleetrunner/proto';

/** Any generated method, for constraints. */
export type AnyMethodDef = MethodDef<unknown, unknown>;
/** The decoded request type of a method. */
export type RequestOf<M> = M extends MethodDef<infer Q, unknown> ? Q : never;
/** The decoded response type of a method. */
export type ResponseOf<M> = M extends MethodDef<unknown, infer R> ? R : never;

/** A service ready for `grpc.Server.addService`. */
export interface GrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

/** What a failed handler reports: a gRPC status code, a message and optional trailing metadata. */
export interface StatusLike {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata;
}

/** Context handed to each unary handler. `signal` aborts when the caller cancels or its deadline passes. */
export interface UnaryContext {
  signal: AbortSignal;
  metadata: grpc.Metadata;
}

/** A unary handler over decoded messages. */
export type UnaryHandler<M> = (request: RequestOf<M>, context: UnaryContext) => Promise<ResponseOf<M>>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The grpc-js definition of one generated method (codecs as (de)serializers). */
export function methodDefinition<M extends AnyMethodDef>(method: M): grpc.MethodDefinition<RequestOf<M>, ResponseOf<M>> {
  const name = method.path.slice(method.path.lastIndexOf('/') + 1);
  return {
    path: method.path,
    originalName: name,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
    requestSerialize: (value: RequestOf<M>) => toBuffer(method.request.encode(value as never)),
    requestDeserialize: (bytes: Buffer) => method.request.decode(bytes) as RequestOf<M>,
    responseSerialize: (value: ResponseOf<M>) => toBuffer(method.response.encode(value as never)),
    responseDeserialize: (bytes: Buffer) => method.response.decode(bytes) as ResponseOf<M>,
  };
}

/** A grpc-js ServiceDefinition from a map of generated methods (keys become the implementation's keys). */
export function serviceDefinition(methods: Readonly<Record<string, AnyMethodDef>>): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, m] of Object.entries(methods)) def[key] = methodDefinition(m);
  return def;
}

/** Default error mapping: the error's message with status UNKNOWN, as a Go plugin's plain error travels. */
export function unknownStatus(err: unknown): StatusLike {
  return { code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/**
 * Builds a service of unary methods from a map of generated methods and async handlers over decoded messages.
 * A rejected handler becomes the status `toStatus(err)` returns (default {@link unknownStatus}); the handler's
 * signal aborts when the call is cancelled.
 */
export function unaryService<const M extends Readonly<Record<string, AnyMethodDef>>>(
  methods: M,
  handlers: { [K in keyof M]: UnaryHandler<M[K]> },
  options: { toStatus?: (err: unknown) => StatusLike } = {},
): GrpcService {
  const toStatus = options.toStatus ?? unknownStatus;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const key of Object.keys(methods) as (keyof M & string)[]) {
    const handler = handlers[key];
    const impl: grpc.handleUnaryCall<RequestOf<M[typeof key]>, ResponseOf<M[typeof key]>> = (call, callback) => {
      const controller = new AbortController();
      const onCancel = (): void => controller.abort(new Error('call cancelled by the client'));
      call.once('cancelled', onCancel);
      const done = (err: StatusLike | null, response?: ResponseOf<M[typeof key]>): void => {
        call.off('cancelled', onCancel);
        callback(err, response);
      };
      // Through a resolved promise so a handler that throws synchronously still answers with a status.
      Promise.resolve()
        .then(() => handler(call.request, { signal: controller.signal, metadata: call.metadata }))
        .then(
          (response) => done(null, response),
          (err: unknown) => done(toStatus(err)),
        );
    };
    implementation[key] = impl as grpc.UntypedHandleCall;
  }
  return { definition: serviceDefinition(methods), implementation };
}

/** Options of {@link callUnary}. */
export interface CallUnaryOptions {
  /** Cancels the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Deadline relative to now, in milliseconds; none by default. */
  deadlineMs?: number;
  metadata?: grpc.Metadata;
}

/** True when `err` is a gRPC status error (it carries `code`, `details` and trailing `metadata`). */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err;
}

/**
 * One unary call over `client`. Rejects with the grpc-js `ServiceError` on a non-OK status (translate it at your
 * boundary), or with the signal's reason when `signal` aborts first (the call is cancelled then).
 */
export function callUnary<M extends AnyMethodDef>(
  client: grpc.Client,
  method: M,
  request: Parameters<M['request']['encode']>[0],
  options: CallUnaryOptions = {},
): Promise<ResponseOf<M>> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const def = methodDefinition(method);
  return new Promise<ResponseOf<M>>((resolve, reject) => {
    let settled = false;
    const callOptions: grpc.CallOptions = {};
    if (options.deadlineMs !== undefined) callOptions.deadline = new Date(Date.now() + options.deadlineMs);
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      call.cancel();
      reject(abortError(signal!));
    };
    const call = client.makeUnaryRequest<RequestOf<M>, ResponseOf<M>>(
      method.path,
      def.requestSerialize,
      def.responseDeserialize,
      request as RequestOf<M>,
      options.metadata ?? new grpc.Metadata(),
      callOptions,
      (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(value as ResponseOf<M>);
      },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
