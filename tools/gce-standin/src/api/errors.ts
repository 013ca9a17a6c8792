/** A GCE API error: HTTP status, the `reason` of `errors[0]`, a message, and the gRPC-style `status` string. */
export class GceError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly reason: string,
    message: string,
    readonly status?: string,
    /** Seconds for a Retry-After header. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The JSON body GCE answers errors with. */
  body(): { error: { code: number; message: string; errors: { message: string; domain: string; reason: string }[]; status?: string } } {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
        ...(this.status ? { status: this.status } : {}),
      },
    };
  }
}

export function notFound(resource: string): GceError {
  return new GceError(404, 'notFound', `The resource '${resource}' was not found`, 'NOT_FOUND');
}

export function invalid(message: string): GceError {
  return new GceError(400, 'invalid', message, 'INVALID_ARGUMENT');
}
