/** An ARM error: HTTP status and the `{"error":{"code","message"}}` body Azure answers with. */
export class ArmError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    /** Seconds for a Retry-After header. */
    readonly retryAfterSeconds?: number,
    /** Extra response headers (WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string; target?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}) } };
  }
}

/** 404 `ResourceNotFound` as ARM words it. */
export function resourceNotFound(type: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** 400 `InvalidParameter`. */
export function invalidParameter(message: string, target?: string): ArmError {
  return new ArmError(400, 'InvalidParameter', message, undefined, {}, target);
}
