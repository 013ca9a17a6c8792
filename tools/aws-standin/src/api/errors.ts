/**
 * An error the stand-in answers with, in the protocol of the service that was called: `code` is the AWS error code
 * (`Throttling`, `ValidationError`, `InvalidInstanceID.NotFound`, `ThrottlingException`…), `status` the HTTP
 * status, `fault` the query protocol's `<Type>` (Sender = the caller's fault, Receiver = the service's).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly fault: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Auto Scaling's generic validation failure (HTTP 400, code `ValidationError`). */
export function validationError(message: string): ApiError {
  return new ApiError('ValidationError', message, 400);
}
