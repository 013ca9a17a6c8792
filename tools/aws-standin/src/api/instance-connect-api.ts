import type { Cloud } from '../cloud.js';
import { ApiError } from './errors.js';

/** The X-Amz-Target prefix of EC2 Instance Connect (JSON 1.1 protocol). */
export const INSTANCE_CONNECT_TARGET = 'AWSEC2InstanceConnectService';

const OS_USER = /^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9$_-]?$/;

function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new ApiError('InvalidArgsException', `${name} is required and must be a string`);
  return v;
}

/** Handles one EC2 Instance Connect operation; returns the JSON response body or throws an {@link ApiError}. */
export function instanceConnectAction(cloud: Cloud, operation: string, raw: string, requestId: string): string {
  let body: unknown;
  try {
    body = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('SerializationException', 'The request body must be a JSON object');
  const b = body as Record<string, unknown>;
  switch (operation) {
    case 'SendSSHPublicKey': {
      const id = field(b, 'InstanceId', true)!;
      const user = field(b, 'InstanceOSUser', true)!;
      const key = field(b, 'SSHPublicKey', true)!;
      const zone = field(b, 'AvailabilityZone', false);
      if (!OS_USER.test(user)) throw new ApiError('InvalidArgsException', `InstanceOSUser ${JSON.stringify(user)} is not a valid user name`);
      if (key.length < 80 || key.length > 4096) throw new ApiError('InvalidArgsException', 'SSHPublicKey must be 80 to 4096 characters long');
      cloud.pushKey(id, user, key, zone);
      return JSON.stringify({ RequestId: requestId, Success: true });
    }
    default:
      throw new ApiError('UnknownOperationException', `Unknown operation ${operation}`);
  }
}
