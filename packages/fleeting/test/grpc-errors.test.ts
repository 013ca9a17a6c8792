import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { RunnerError, type ErrorCode } from '@fleetrunner/common';
import { errorFromCall, fromPluginError, statusFromError, toPluginError } from '../src/index.js';

function asServiceError(s: { code: grpc.status; details: string; metadata?: grpc.Metadata }): grpc.ServiceError {
  return Object.assign(new Error(`${s.code} ${grpc.status[s.code]}: ${s.details}`), { code: s.code, details: s.details, metadata: s.metadata ?? new grpc.Metadata() });
}

t.test('error codes survive the wire both ways', async (t) => {
  const cases: { thrown: unknown; status: grpc.status; code: ErrorCode }[] = [
    { thrown: new RunnerError('instance_unhealthy', 'x'), status: grpc.status.FAILED_PRECONDITION, code: 'instance_unhealthy' },
    { thrown: new RunnerError('instance_not_found', 'x'), status: grpc.status.NOT_FOUND, code: 'instance_not_found' },
    { thrown: new RunnerError('invalid_argument', 'x'), status: grpc.status.INVALID_ARGUMENT, code: 'invalid_argument' },
    { thrown: new RunnerError('no_capacity', 'x'), status: grpc.status.RESOURCE_EXHAUSTED, code: 'no_capacity' },
    { thrown: new RunnerError('auth_failed', 'x'), status: grpc.status.PERMISSION_DENIED, code: 'auth_failed' },
    { thrown: new RunnerError('timeout', 'x'), status: grpc.status.DEADLINE_EXCEEDED, code: 'timeout' },
    { thrown: new RunnerError('unavailable', 'x'), status: grpc.status.UNAVAILABLE, code: 'unavailable' },
    { thrown: new RunnerError('unsupported', 'x'), status: grpc.status.FAILED_PRECONDITION, code: 'unsupported' },
    { thrown: new RunnerError('internal', 'x'), status: grpc.status.UNKNOWN, code: 'plugin_error' },
    { thrown: new Error('x'), status: grpc.status.UNKNOWN, code: 'plugin_error' },
    { thrown: 'x', status: grpc.status.UNKNOWN, code: 'plugin_error' },
    { thrown: new RunnerError('host_key_changed', 'x'), status: grpc.status.UNKNOWN, code: 'plugin_error' },
  ];
  for (const c of cases) {
    const s = statusFromError(c.thrown);
    t.equal(s.code, c.status, `${String(c.thrown)}: status`);
    t.equal(s.details, 'x');
    const back = errorFromCall(asServiceError(s), 'doing it');
    t.equal(back.code, c.code, `${c.code}: code back`);
    t.equal(back.message, 'doing it: x');
  }
});

t.test('statuses without our metadata (third-party plugins, transport) map to the nearest code', async (t) => {
  const cases: [grpc.status, ErrorCode][] = [
    [grpc.status.UNKNOWN, 'plugin_error'],
    [grpc.status.INVALID_ARGUMENT, 'invalid_argument'],
    [grpc.status.NOT_FOUND, 'not_found'],
    [grpc.status.UNAVAILABLE, 'unavailable'],
    [grpc.status.DEADLINE_EXCEEDED, 'timeout'],
    [grpc.status.CANCELLED, 'aborted'],
    [grpc.status.UNIMPLEMENTED, 'unsupported'],
    [grpc.status.INTERNAL, 'plugin_error'],
  ];
  for (const [status, code] of cases) t.equal(errorFromCall(asServiceError({ code: status, details: 'd' }), 'c').code, code, grpc.status[status]);
  const md = new grpc.Metadata();
  md.set('fleeting-error-code', 'made_up_code');
  t.equal(errorFromCall(asServiceError({ code: grpc.status.NOT_FOUND, details: 'd', metadata: md }), 'c').code, 'plugin_error', 'unknown codes are plugin errors');
  const aborted = errorFromCall(new RunnerError('plugin_crashed', 'gone'), 'calling');
  t.match(aborted, { code: 'plugin_crashed', message: 'calling: gone' });
});

t.test('partial-success errors travel inside responses', async (t) => {
  t.equal(toPluginError(undefined), null);
  t.same(toPluginError(new RunnerError('no_capacity', 'full')), { code: 'no_capacity', message: 'full' });
  t.same(toPluginError(new Error('plain')), { code: 'plugin_error', message: 'plain' });
  t.equal(fromPluginError(null), undefined);
  t.equal(fromPluginError({ code: '', message: '' }), undefined);
  t.match(fromPluginError({ code: 'instance_not_found', message: 'i-9' }), { code: 'instance_not_found', message: 'i-9' });
});
