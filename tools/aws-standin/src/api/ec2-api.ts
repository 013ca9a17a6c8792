import type { Cloud } from '../cloud.js';
import { EC2_STATE_CODES, type Instance } from '../model.js';
import { ApiError } from './errors.js';
import type { QueryParams } from './query.js';
import { documentXml, el, els, isoTime, type XmlRaw } from './xml.js';

/** EC2's API version and XML namespace. */
export const EC2_VERSION = '2016-11-15';
const NS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;
const ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

function items(list: readonly XmlRaw[]): XmlRaw[] {
  return list.map((i) => el('item', i));
}

function instanceXml(inst: Instance): XmlRaw {
  const alive = inst.ec2State !== 'terminated';
  const tags = [
    ['aws:autoscaling:groupName', inst.groupName],
    ['Name', `${inst.groupName}-instance`],
  ].map(([k, v]) => els(el('key', k), el('value', v)));
  return els(
    el('instanceId', inst.id),
    el('imageId', inst.platform === 'windows' ? 'ami-0fee1e7e1a5c0ffee' : 'ami-0a11ce5e1a5c0ffee'),
    el('instanceState', els(el('code', EC2_STATE_CODES[inst.ec2State]), el('name', inst.ec2State))),
    el('privateDnsName', alive ? `ip-${inst.privateIp.replaceAll('.', '-')}.ec2.internal` : ''),
    el('dnsName', ''),
    el('reason', inst.stateReason ? inst.stateReason.message : ''),
    inst.keyName ? el('keyName', inst.keyName) : { xml: '' },
    el('amiLaunchIndex', 0),
    el('instanceType', inst.instanceType),
    el('launchTime', isoTime(inst.launchTime)),
    el('placement', els(el('availabilityZone', inst.availabilityZone), el('tenancy', 'default'))),
    el('monitoring', el('state', 'disabled')),
    alive ? el('privateIpAddress', inst.privateIp) : { xml: '' },
    alive && inst.publicIp ? el('ipAddress', inst.publicIp) : { xml: '' },
    el('architecture', inst.architecture),
    el('rootDeviceType', 'ebs'),
    el('virtualizationType', 'hvm'),
    el('hypervisor', 'xen'),
    el('tagSet', items(tags)),
    inst.platform === 'windows' ? el('platform', 'windows') : { xml: '' },
    el('platformDetails', inst.platform === 'windows' ? 'Windows' : 'Linux/UNIX'),
    inst.spot ? el('instanceLifecycle', 'spot') : { xml: '' },
    inst.stateReason ? el('stateReason', els(el('code', inst.stateReason.code), el('message', inst.stateReason.message))) : { xml: '' },
  );
}

/** Instances that pass every filter (AND across filters, OR across a filter's values). */
function filtered(cloud: Cloud, params: QueryParams): Instance[] {
  const ids = params.list('InstanceId');
  const bad = ids.filter((id) => !ID.test(id));
  if (bad.length > 0) throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${bad[0]}"`);
  const missing = ids.filter((id) => !cloud.instances.has(id));
  if (missing.length === 1) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
  if (missing.length > 1) throw new ApiError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  let list = [...cloud.instances.values()];
  if (ids.length > 0) list = list.filter((i) => ids.includes(i.id));
  for (const f of params.filters()) {
    const pick = ((): ((i: Instance) => string) => {
      switch (f.name) {
        case 'instance-id':
          return (i) => i.id;
        case 'instance-state-name':
          return (i) => i.ec2State;
        case 'availability-zone':
          return (i) => i.availabilityZone;
        case 'tag:aws:autoscaling:groupName':
          return (i) => i.groupName;
        default:
          throw new ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
      }
    })();
    list = list.filter((i) => f.values.includes(pick(i)));
  }
  return list;
}

function describeInstances(cloud: Cloud, params: QueryParams, requestId: string): string {
  const maxResults = params.int('MaxResults');
  if (maxResults !== undefined && params.list('InstanceId').length > 0) {
    throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
    throw new ApiError('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
  }
  const all = filtered(cloud, params);
  const token = params.get('NextToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidParameterValue', 'Invalid NextToken');
  const end = maxResults === undefined ? all.length : Math.min(all.length, start + maxResults);
  const ownerId = cloud.options.accountId;
  const reservations = all.slice(start, end).map((inst) =>
    els(el('reservationId', `r-${inst.id.slice(2)}`), el('ownerId', ownerId), el('groupSet', []), el('instancesSet', items([instanceXml(inst)]))),
  );
  return documentXml(
    'DescribeInstancesResponse',
    NS,
    els(
      el('requestId', requestId),
      el('reservationSet', items(reservations)),
      end < all.length ? el('nextToken', Buffer.from(String(end)).toString('base64url')) : { xml: '' },
    ),
  );
}

function getPasswordData(cloud: Cloud, params: QueryParams, requestId: string): string {
  const id = params.required('InstanceId');
  if (!ID.test(id)) throw new ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const inst = cloud.instances.get(id);
  if (!inst) throw new ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return documentXml(
    'GetPasswordDataResponse',
    NS,
    els(el('requestId', requestId), el('instanceId', id), el('timestamp', isoTime(cloud.options.clock.now())), el('passwordData', inst.passwordData ?? '')),
  );
}

/** EC2's error document. */
export function ec2ErrorXml(err: ApiError, requestId: string): string {
  return documentXml('Response', undefined, els(el('Errors', el('Error', els(el('Code', err.code), el('Message', err.message)))), el('RequestID', requestId)));
}

/** Handles one EC2 action; returns the response document or throws an {@link ApiError}. */
export function ec2Action(cloud: Cloud, action: string, params: QueryParams, requestId: string): string {
  switch (action) {
    case 'DescribeInstances':
      return describeInstances(cloud, params, requestId);
    case 'GetPasswordData':
      return getPasswordData(cloud, params, requestId);
    default:
      throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}
