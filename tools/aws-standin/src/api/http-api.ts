import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@fleetrunner/common';
import type { Cloud } from '../cloud.js';
import type { Faults } from '@fleetrunner/standin-kit';
import { AUTOSCALING_VERSION, autoScalingAction, autoScalingErrorXml } from './autoscaling-api.js';
import { EC2_VERSION, ec2Action, ec2ErrorXml } from './ec2-api.js';
import { ApiError } from './errors.js';
import { INSTANCE_CONNECT_TARGET, instanceConnectAction } from './instance-connect-api.js';
import { QueryParams } from './query.js';
import { parseAuthorization, signatureMatches } from './sigv4.js';

/** The services the stand-in speaks, by their SigV4 signing names. */
export type Service = 'autoscaling' | 'ec2' | 'ec2-instance-connect';

/** Credentials the stand-in accepts; without a secret only the key id is checked. */
export interface AcceptedCredentials {
  accessKeyId: string;
  secretAccessKey?: string;
}

/** What the AWS API handler needs. */
export interface ApiContext {
  cloud: Cloud;
  faults: Faults;
  region: string;
  /** Undefined = any SigV4-signed request is accepted. */
  credentials: readonly AcceptedCredentials[] | undefined;
  /** Calls served, by `<service>:<action>`. */
  calls: Map<string, number>;
  logger: Logger;
}

/** A parsed request body and the service and action it addresses. */
interface Call {
  service: Service;
  action: string;
  params?: QueryParams;
  body: Buffer;
}

function identify(req: IncomingMessage, url: URL, body: Buffer, signingName: string | undefined): Call {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith(`${INSTANCE_CONNECT_TARGET}.`)) {
    return { service: 'ec2-instance-connect', action: target.slice(INSTANCE_CONNECT_TARGET.length + 1), body };
  }
  const params = new QueryParams(req.method === 'GET' ? url.search.slice(1) : body.toString('utf8'));
  const version = params.get('Version');
  const service: Service | undefined =
    version === AUTOSCALING_VERSION ? 'autoscaling' : version === EC2_VERSION ? 'ec2' : signingName === 'autoscaling' || signingName === 'ec2' ? signingName : undefined;
  if (!service) throw new ApiError('InvalidAction', `Unsupported API version ${JSON.stringify(version ?? '')}: this stand-in speaks Auto Scaling ${AUTOSCALING_VERSION}, EC2 ${EC2_VERSION} and EC2 Instance Connect`);
  return { service, action: params.get('Action') ?? '', params, body };
}

/** The error each service answers a call with when its credentials are missing, unknown or mis-signed. */
function authError(service: Service, kind: 'missing' | 'unknown' | 'signature' | 'region', detail: string): ApiError {
  if (kind === 'signature' || kind === 'region') {
    return new ApiError(service === 'ec2-instance-connect' ? 'InvalidSignatureException' : 'SignatureDoesNotMatch', detail, 403);
  }
  if (service === 'ec2') return new ApiError('AuthFailure', detail, 401);
  if (service === 'ec2-instance-connect') return new ApiError(kind === 'missing' ? 'MissingAuthenticationTokenException' : 'UnrecognizedClientException', detail, 403);
  return new ApiError(kind === 'missing' ? 'MissingAuthenticationToken' : 'InvalidClientTokenId', detail, 403);
}

function authenticate(ctx: ApiContext, req: IncomingMessage, url: URL, call: Call): void {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) throw authError(call.service, 'missing', 'Request is missing Authentication Token');
  if (auth.region !== ctx.region) throw authError(call.service, 'region', `Credential should be scoped to a valid region, not '${auth.region}'. This endpoint serves ${ctx.region}.`);
  if (!ctx.credentials) return;
  const known = ctx.credentials.find((c) => c.accessKeyId === auth.accessKeyId);
  if (!known) throw authError(call.service, 'unknown', 'The security token included in the request is invalid.');
  const request = { method: req.method ?? 'POST', path: url.pathname, query: url.search.slice(1), headers: req.headers, body: call.body };
  if (known.secretAccessKey !== undefined && !signatureMatches(auth, request, known.secretAccessKey)) {
    throw authError(call.service, 'signature', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
}

function throttlingError(service: Service): ApiError {
  if (service === 'ec2') return new ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503, 'Receiver');
  if (service === 'ec2-instance-connect') return new ApiError('ThrottlingException', 'Rate exceeded', 429, 'Sender');
  return new ApiError('Throttling', 'Rate exceeded', 400, 'Sender');
}

function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, service: Service | undefined, err: ApiError, requestId: string): void {
  if (service === 'ec2-instance-connect') {
    send(res, err.status, 'application/x-amz-json-1.1', JSON.stringify({ __type: err.code, Message: err.message }), {
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': err.code,
    });
  } else if (service === 'ec2') {
    send(res, err.status, 'text/xml;charset=UTF-8', ec2ErrorXml(err, requestId));
  } else {
    send(res, err.status, 'text/xml', autoScalingErrorXml(err, requestId), { 'x-amzn-requestid': requestId });
  }
}

/** Serves one AWS API request (query protocols for Auto Scaling and EC2, JSON 1.1 for EC2 Instance Connect). */
export function serveApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const requestId = randomUUID();
  let call: Call | undefined;
  try {
    call = identify(req, url, body, parseAuthorization(req.headers.authorization)?.service);
    authenticate(ctx, req, url, call);
    const key = `${call.service}:${call.action}`;
    ctx.calls.set(key, (ctx.calls.get(key) ?? 0) + 1);
    if (ctx.faults.throttle(call.service, call.action)) throw throttlingError(call.service);
    if (call.service === 'ec2-instance-connect') {
      send(res, 200, 'application/x-amz-json-1.1', instanceConnectAction(ctx.cloud, call.action, body.toString('utf8'), requestId), { 'x-amzn-requestid': requestId });
    } else {
      const run = call.service === 'ec2' ? ec2Action : autoScalingAction;
      send(res, 200, 'text/xml', run(ctx.cloud, call.action, call.params!, requestId), { 'x-amzn-requestid': requestId });
    }
    ctx.logger.debug('api call', { service: call.service, action: call.action, status: 200 });
  } catch (err) {
    const apiErr = err instanceof ApiError ? err : new ApiError('InternalFailure', `internal error: ${err instanceof Error ? err.message : String(err)}`, 500);
    if (!(err instanceof ApiError)) ctx.logger.error('api call failed', { error: apiErr.message });
    ctx.logger.debug('api call', { service: call?.service, action: call?.action, status: apiErr.status, code: apiErr.code });
    sendError(res, call?.service, apiErr, requestId);
  }
}
