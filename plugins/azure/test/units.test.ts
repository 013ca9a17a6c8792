import t from 'tap';
import { FakeClock, nullLogger } from '@fleetrunner/common';
import { archOf, azureEndpoints, codeOf, azureErrorShape, instanceState, parseAzureConfig, withRetry, type VmView } from '../src/index.js';

const SUB = '9b3c4602-cde2-4089-bed8-889e5a3e7102';

t.test('plugin_config: upstream keys, all three required, unknown keys warned about', async (t) => {
  t.same(parseAzureConfig({ name: 'my-linux-scale-set', subscription_id: SUB, resource_group_name: 'my-resource-group' }), {
    name: 'my-linux-scale-set',
    subscriptionId: SUB,
    resourceGroupName: 'my-resource-group',
  });
  const warnings: string[] = [];
  t.same(parseAzureConfig(`{"name":"ss","subscription_id":"${SUB}","resource_group_name":"rg","client_secret":"x"}`, warnings), { name: 'ss', subscriptionId: SUB, resourceGroupName: 'rg' });
  t.same(warnings, ['plugin_config.client_secret: unknown key, ignored (expected one of name, subscription_id, resource_group_name)']);
  const cases: [string, unknown, RegExp][] = [
    ['nothing', {}, /^plugin_config\.name: required .*; plugin_config\.subscription_id: required .*; plugin_config\.resource_group_name: required/],
    ['wrong type', { name: 'ss', subscription_id: 5, resource_group_name: 'rg' }, /plugin_config\.subscription_id: expected a non-empty string, got 5/],
    ['not a GUID', { name: 'ss', subscription_id: 'my-sub', resource_group_name: 'rg' }, /plugin_config\.subscription_id: expected a subscription ID \(a GUID/],
    ['bad name', { name: 'a/b', subscription_id: SUB, resource_group_name: 'rg' }, /plugin_config\.name: expected a scale set name/],
  ];
  for (const [what, raw, msg] of cases) t.throws(() => parseAzureConfig(raw), { code: 'invalid_argument', message: msg }, what);
});

t.test('endpoints: AZURE_CLOUD, AZURE_RESOURCE_MANAGER_ENDPOINT/_AUDIENCE, AZURE_AUTHORITY_HOST', async (t) => {
  t.same(azureEndpoints({}), { resourceManager: 'https://management.azure.com', scope: 'https://management.azure.com/.default', authorityHost: 'https://login.microsoftonline.com', customAuthority: false, source: 'AzureCloud (default)' });
  t.match(azureEndpoints({ AZURE_CLOUD: 'AzureUSGovernment' }), { resourceManager: 'https://management.usgovcloudapi.net', scope: 'https://management.usgovcloudapi.net/.default', authorityHost: 'https://login.microsoftonline.us', customAuthority: false });
  t.match(azureEndpoints({ AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://127.0.0.1:8443/', AZURE_AUTHORITY_HOST: 'https://127.0.0.1:8443' }), {
    resourceManager: 'https://127.0.0.1:8443',
    scope: 'https://management.azure.com/.default',
    authorityHost: 'https://127.0.0.1:8443',
    customAuthority: true,
    source: 'AZURE_RESOURCE_MANAGER_ENDPOINT, AZURE_AUTHORITY_HOST',
  }, 'a private endpoint keeps the audience');
  t.throws(() => azureEndpoints({ AZURE_RESOURCE_MANAGER_ENDPOINT: 'http://127.0.0.1:8080' }), { code: 'invalid_argument', message: /AZURE_RESOURCE_MANAGER_ENDPOINT: must be an https URL/ });
  t.throws(() => azureEndpoints({ AZURE_CLOUD: 'Mars' }), { message: /AZURE_CLOUD: expected AzureCloud, AzureUSGovernment or AzureChinaCloud/ });
});

t.test('instance states from provisioning state and instance view', async (t) => {
  const vm = (provisioningState: string, ...statuses: string[]): VmView => ({ name: 'ss_0', instanceId: '0', vmId: 'u', provisioningState, statuses, osType: 'Linux', adminUsername: 'a', vmSize: 'Standard_D2s_v5' });
  const cases: [VmView, string][] = [
    [vm('Creating', 'ProvisioningState/creating'), 'creating'],
    [vm('Creating', 'ProvisioningState/creating', 'PowerState/starting'), 'creating'],
    [vm('Succeeded', 'ProvisioningState/succeeded', 'PowerState/starting'), 'creating'],
    [vm('Succeeded', 'ProvisioningState/succeeded', 'PowerState/running'), 'running'],
    [vm('Updating', 'ProvisioningState/updating', 'PowerState/running'), 'creating'],
    [vm('Failed', 'ProvisioningState/failed/AllocationFailed'), 'timeout'],
    [vm('Succeeded', 'ProvisioningState/succeeded', 'PowerState/stopped'), 'timeout'],
    [vm('Succeeded', 'ProvisioningState/succeeded', 'PowerState/deallocated'), 'timeout'],
    [vm('Deleting', 'ProvisioningState/deleting', 'PowerState/stopping'), 'deleting'],
  ];
  for (const [v, want] of cases) t.equal(instanceState(v), want, `${v.provisioningState} ${v.statuses.join(' ')}`);
  t.equal(archOf('Standard_D2ps_v5'), 'arm64');
  t.equal(archOf('Standard_E4pds_v6'), 'arm64');
  t.equal(archOf('Standard_D2s_v5'), 'amd64');
  t.equal(archOf('Standard_B2s'), 'amd64');
});

function restError(statusCode: number, code: string, message: string, retryAfter?: string): Error {
  return Object.assign(new Error(message), {
    name: 'RestError',
    code,
    statusCode,
    details: { error: { code, message } },
    response: { status: statusCode, headers: new Map(retryAfter ? [['retry-after', retryAfter]] : []) },
  });
}

t.test('errors: ARM codes, failed operations, identity errors, network errors', async (t) => {
  t.same(azureErrorShape(new Error('The long-running operation has failed. AllocationFailed. Allocation failed. Try later.')), { status: undefined, code: 'AllocationFailed', message: 'Allocation failed. Try later.', retryAfterMs: undefined });
  const cases: [Error, string][] = [
    [restError(429, 'TooManyRequests', 'throttled'), 'unavailable'],
    [restError(503, 'ServiceUnavailable', 'x'), 'unavailable'],
    [restError(404, 'ResourceNotFound', 'x'), 'not_found'],
    [restError(401, 'InvalidAuthenticationToken', 'x'), 'auth_failed'],
    [restError(403, 'AuthorizationFailed', 'x'), 'auth_failed'],
    [restError(409, 'OperationNotAllowed', 'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.'), 'no_capacity'],
    [restError(409, 'OperationNotAllowed', "Operation 'x' is not allowed on Virtual Machine Scale Set 'y'."), 'invalid_argument'],
    [restError(400, 'InvalidParameter', 'x'), 'invalid_argument'],
    [Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), { name: 'AuthenticationError' }), 'auth_failed'],
    [Object.assign(new Error('connect ECONNREFUSED'), { name: 'RestError', code: 'ECONNREFUSED' }), 'unavailable'],
  ];
  for (const [e, want] of cases) t.equal(codeOf(azureErrorShape(e)), want, `${(e as { code?: string }).code ?? e.name}: ${e.message}`);
});

t.test('retries: the project back-off on the clock, Retry-After, final errors not retried', async (t) => {
  const clock = new FakeClock();
  const policy = { throttledAttempts: 4, transientAttempts: 2, baseDelayMs: 100, maxDelayMs: 300, maxRetryAfterMs: 5000 };
  const times: number[] = [];
  let left = 3;
  const done = withRetry('calling', async () => {
    times.push(clock.now());
    if (left-- > 0) throw restError(429, 'TooManyRequests', 'm429', left === 0 ? '2' : undefined);
    return 'ok';
  }, { policy, clock, logger: nullLogger, random: () => 1 });
  await clock.advance(5000);
  t.equal(await done, 'ok');
  t.same(times.map((x) => x - times[0]!), [0, 100, 300, 2300], 'delays 100, 200, then the Retry-After of 2 s');
  let calls = 0;
  await t.rejects(withRetry('calling', () => (calls++, Promise.reject(restError(403, 'AuthorizationFailed', 'no'))), { policy, clock, logger: nullLogger }), {
    code: 'auth_failed',
    message: 'calling: 403 AuthorizationFailed: no',
  });
  t.equal(calls, 1, 'a permission error is final');
  const exhausted = withRetry('calling', () => Promise.reject(restError(503, 'ServiceUnavailable', 'm503')), { policy, clock, logger: nullLogger, random: () => 0 });
  const seen = t.rejects(exhausted, { code: 'unavailable', message: 'calling: 503 ServiceUnavailable: m503 (after 2 attempts)' });
  await clock.advance(1000);
  await seen;
  const ac = new AbortController();
  const aborted = withRetry('calling', () => Promise.reject(restError(429, 'TooManyRequests', 'x')), { policy, clock, logger: nullLogger, signal: ac.signal });
  const rejected = t.rejects(aborted, { name: 'AbortError' });
  await clock.advance(0);
  ac.abort(new DOMException('stop', 'AbortError'));
  await rejected;
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
});
