import type { Cloud } from '../cloud.js';
import type { Group, Instance } from '../model.js';
import { ApiError } from './errors.js';
import type { QueryParams } from './query.js';
import { documentXml, el, els, isoTime, type XmlRaw } from './xml.js';

/** Auto Scaling's API version and XML namespace. */
export const AUTOSCALING_VERSION = '2011-01-01';
const NS = `http://autoscaling.amazonaws.com/doc/${AUTOSCALING_VERSION}/`;

/** `<member>` items of a list. */
function members(items: readonly XmlRaw[]): XmlRaw[] {
  return items.map((i) => el('member', i));
}

function instanceXml(inst: Instance, g: Group): XmlRaw {
  return els(
    el('InstanceId', inst.id),
    el('InstanceType', inst.instanceType),
    el('AvailabilityZone', inst.availabilityZone),
    el('LifecycleState', inst.lifecycle),
    el('HealthStatus', inst.health),
    el('LaunchTemplate', els(el('LaunchTemplateId', 'lt-0f1ee7e1a5c0ffee0'), el('LaunchTemplateName', g.name), el('Version', '1'))),
    el('ProtectedFromScaleIn', inst.protectedFromScaleIn),
  );
}

function groupXml(g: Group): XmlRaw {
  return els(
    el('AutoScalingGroupName', g.name),
    el('AutoScalingGroupARN', g.arn),
    el('LaunchTemplate', els(el('LaunchTemplateId', 'lt-0f1ee7e1a5c0ffee0'), el('LaunchTemplateName', g.name), el('Version', '1'))),
    el('MinSize', g.minSize),
    el('MaxSize', g.maxSize),
    el('DesiredCapacity', g.desiredCapacity),
    el('DefaultCooldown', 300),
    el('AvailabilityZones', members(g.spec.availabilityZones.map((z) => ({ xml: z })))),
    el('LoadBalancerNames', []),
    el('TargetGroupARNs', []),
    el('HealthCheckType', 'EC2'),
    el('HealthCheckGracePeriod', 300),
    el('Instances', members(g.instances.map((i) => instanceXml(i, g)))),
    el('CreatedTime', isoTime(g.createdAt)),
    el('SuspendedProcesses', members([els(el('ProcessName', 'AZRebalance'), el('SuspensionReason', 'User suspended'))])),
    el('EnabledMetrics', []),
    el('Tags', []),
    el('TerminationPolicies', members([{ xml: 'Default' }])),
    el('NewInstancesProtectedFromScaleIn', g.spec.protectNewInstances),
    el('CapacityRebalance', false),
  );
}

function response(action: string, requestId: string, result?: XmlRaw): string {
  return documentXml(
    `${action}Response`,
    NS,
    els(result ? el(`${action}Result`, result) : { xml: '' }, el('ResponseMetadata', el('RequestId', requestId))),
  );
}

/** The query protocol's error document. */
export function autoScalingErrorXml(err: ApiError, requestId: string): string {
  return documentXml('ErrorResponse', NS, els(el('Error', els(el('Type', err.fault), el('Code', err.code), el('Message', err.message))), el('RequestId', requestId)));
}

/** Handles one Auto Scaling action; returns the response document or throws an {@link ApiError}. */
export function autoScalingAction(cloud: Cloud, action: string, params: QueryParams, requestId: string): string {
  switch (action) {
    case 'DescribeAutoScalingGroups': {
      const names = params.list('AutoScalingGroupNames', true);
      const groups = [...cloud.groups.values()].filter((g) => names.length === 0 || names.includes(g.name));
      return response(action, requestId, el('AutoScalingGroups', members(groups.map(groupXml))));
    }
    case 'DescribeAutoScalingInstances': {
      const ids = params.list('InstanceIds', true);
      const rows: XmlRaw[] = [];
      for (const g of cloud.groups.values()) {
        for (const i of g.instances) {
          if (ids.length > 0 && !ids.includes(i.id)) continue;
          rows.push(
            els(
              el('InstanceId', i.id),
              el('InstanceType', i.instanceType),
              el('AutoScalingGroupName', g.name),
              el('AvailabilityZone', i.availabilityZone),
              el('LifecycleState', i.lifecycle),
              el('HealthStatus', i.health.toUpperCase()),
              el('ProtectedFromScaleIn', i.protectedFromScaleIn),
            ),
          );
        }
      }
      return response(action, requestId, el('AutoScalingInstances', members(rows)));
    }
    case 'SetDesiredCapacity': {
      const desired = params.int('DesiredCapacity');
      if (desired === undefined) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null");
      cloud.setDesiredCapacity(params.required('AutoScalingGroupName'), desired);
      return response(action, requestId);
    }
    case 'TerminateInstanceInAutoScalingGroup': {
      const decrement = params.bool('ShouldDecrementDesiredCapacity');
      if (decrement === undefined) {
        throw new ApiError('ValidationError', "1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null");
      }
      const a = cloud.terminateInGroup(params.required('InstanceId'), decrement);
      const activity = els(
        el('ActivityId', a.id),
        el('AutoScalingGroupName', a.groupName),
        el('Description', a.description),
        el('Cause', a.cause),
        el('StartTime', isoTime(a.startTime)),
        el('StatusCode', 'InProgress'),
        el('Progress', 0),
      );
      return response(action, requestId, el('Activity', activity));
    }
    default:
      throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
  }
}
