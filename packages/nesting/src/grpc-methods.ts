import type * as grpc from '@grpc/grpc-js';
import { nestingV1, type MethodDef } from '@fleetrunner/proto';

/** The generated methods of `nesting.Nesting`. */
export const NESTING = nestingV1.NestingService;

type AnyMethod = MethodDef<unknown, unknown>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The grpc-js definition of one generated unary method, with the generated codecs as (de)serializers. */
export function methodDefinition<Q, R>(method: MethodDef<Q, R>): grpc.MethodDefinition<Q, R> {
  return {
    path: method.path,
    originalName: method.path.slice(method.path.lastIndexOf('/') + 1),
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Q) => toBuffer(method.request.encode(value as never)),
    requestDeserialize: (bytes: Buffer) => method.request.decode(bytes),
    responseSerialize: (value: R) => toBuffer(method.response.encode(value as never)),
    responseDeserialize: (bytes: Buffer) => method.response.decode(bytes),
  };
}

/** The grpc-js ServiceDefinition of `nesting.Nesting`. */
export function nestingServiceDefinition(): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, m] of Object.entries(NESTING) as [string, AnyMethod][]) def[key] = methodDefinition(m);
  return def;
}

/**
 * A proto3 `optional` field of a decoded message: the generated types declare it as always present, the decoder
 * leaves it out when the sender did not set it.
 */
export function optionalField<T, K extends keyof T>(message: T, key: K): T[K] | undefined {
  return Object.prototype.hasOwnProperty.call(message, key) ? message[key] : undefined;
}
