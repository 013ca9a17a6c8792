import t from 'tap';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { generateEd25519, sshConnect, sshExec, waitFor } from '@fleetrunner/testing';
import { newServiceAccountKey } from '../src/index.js';
import { SSH_PORT, WHERE, clients, sdkError, standin } from './harness.js';

const N = 50;

t.test('managed instance groups through the real SDK: resize, operations, listing, instances, ssh-keys logins, deletion', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 2, bootDelayMs: 200 }], operationDelayMs: 150, waitMs: 50 });
  const { igm, instances, operations } = clients(s);
  const ref = { ...WHERE, instanceGroupManager: 'runners' };
  const [g] = await igm.get(ref);
  t.match(g, { name: 'runners', targetSize: 0, listManagedInstancesResults: 'PAGELESS', selfLink: /^https:\/\/compute\.googleapis\.com\/compute\/v1\/projects\/fleetrunner-test\/zones\/us-central1-a\/instanceGroupManagers\/runners$/ });

  const [lro] = await igm.resize({ ...ref, size: 3 });
  const op = lro.latestResponse as unknown as { name: string; status: string };
  t.equal(op.status, 'RUNNING', 'an operation that finishes later');
  const [early] = await operations.wait({ ...WHERE, operation: op.name });
  t.equal(early.status, 'RUNNING', 'wait returns RUNNING after its bound');
  const done = await waitFor(async () => {
    const [o] = await operations.wait({ ...WHERE, operation: op.name });
    return o.status === 'DONE' ? o : undefined;
  }, { what: 'the resize to finish' });
  t.match(done, { operationType: 'compute.instanceGroupManagers.resize', progress: 100 });
  t.notOk(done.error, 'no error');
  const [byId] = await operations.get({ ...WHERE, operation: String(lro.name) });
  t.equal(byId.name, op.name, 'an operation is found by its numeric id too');

  const listed = await waitFor(async () => {
    const [list] = await igm.listManagedInstances(ref, { autoPaginate: false });
    return list.filter((m) => m.instanceStatus === 'RUNNING').length === 2 && list.length === 3 ? list : undefined;
  }, { what: 'two running, one over quota' });
  const over = listed.find((m) => m.currentAction === 'CREATING')!;
  t.match(over, { lastAttempt: { errors: { errors: [{ code: 'QUOTA_EXCEEDED', message: /Quota 'INSTANCES' exceeded\.\s+Limit: 2\.0/ }] } } });
  t.notOk(over.instanceStatus, 'no VM status before the VM exists');
  t.match(await sdkError(instances.get({ ...WHERE, instance: over.name! })), { status: 404, reason: 'notFound' }, 'nor an instance');
  const running = listed.find((m) => m.instanceStatus === 'RUNNING')!;
  t.match(running, { currentAction: 'NONE', instance: new RegExp(`/zones/us-central1-a/instances/${running.name}$`), id: /^\d+$/ });

  const [inst] = await instances.get({ ...WHERE, instance: running.name! });
  const nic = inst.networkInterfaces![0]!;
  t.match(nic, { networkIP: new RegExp(`^127\\.86\\.${N}\\.`), accessConfigs: [{ natIP: new RegExp(`^127\\.86\\.${64 + N}\\.`) }] });
  t.match(inst.disks![0], { boot: true, architecture: /X86_64|ARM64/ });
  const key = generateEd25519('k');
  const login = (user: string) => sshConnect({ host: nic.networkIP!, port: SSH_PORT, username: user, privateKey: key.privateKey, readyTimeout: 10_000 });
  await t.rejects(login('ci'), /authentication/i, 'no key in the metadata: no login');
  t.match(await sdkError(instances.setMetadata({ ...WHERE, instance: running.name!, metadataResource: { fingerprint: 'stale', items: [] } })), { status: 412, reason: 'conditionNotMet' });
  const [mlro] = await instances.setMetadata({ ...WHERE, instance: running.name!, metadataResource: { fingerprint: inst.metadata!.fingerprint!, items: [{ key: 'ssh-keys', value: `ci:${key.publicKey}` }] } });
  await waitFor(async () => (await operations.wait({ ...WHERE, operation: (mlro.latestResponse as { name: string }).name }))[0].status === 'DONE', { what: 'setMetadata done' });
  const client = await login('ci');
  t.teardown(() => client.end());
  t.equal((await sshExec(client, 'echo $((6*7))')).stdout, '42\n');
  await t.rejects(login('root'), /authentication/i, 'only for the user it names');
  const [after] = await instances.get({ ...WHERE, instance: running.name! });
  t.not(after.metadata!.fingerprint, inst.metadata!.fingerprint, 'setMetadata changes the fingerprint');

  // instances.delete behind the group's back: the MIG recreates the VM under the same name, with a new id.
  const [delLro] = await instances.delete({ ...WHERE, instance: running.name! });
  t.match(delLro.latestResponse, { operationType: 'delete' });
  const [recreating] = (await igm.listManagedInstances(ref, { autoPaginate: false }))[0].filter((m) => m.name === running.name);
  t.match(recreating, { currentAction: 'RECREATING' });
  t.not(recreating!.id, running.id, 'a new VM id');
  const closedByDelete = await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        try {
          client.exec('true', (err) => resolve(Boolean(err)));
        } catch {
          resolve(true); // "Not connected"
        }
      }),
    { what: 'the connection to drop' },
  );
  t.ok(closedByDelete, 'deleting the VM drops connections');
  const again = await waitFor(async () => (await igm.listManagedInstances(ref, { autoPaginate: false }))[0].find((m) => m.name === running.name && m.currentAction === 'NONE'), { what: 'the VM recreated' });
  t.equal(again.instanceStatus, 'RUNNING');
  t.same((await instances.get({ ...WHERE, instance: running.name! }))[0].metadata!.items ?? [], [], 'from the template: the pushed key is gone');

  t.match(await sdkError(igm.deleteInstances({ ...ref, instanceGroupManagersDeleteInstancesRequestResource: { instances: ['zones/us-central1-a/instances/nope'] } })), { status: 400, reason: 'invalid', message: /is not a member/ });
  await igm.deleteInstances({ ...ref, instanceGroupManagersDeleteInstancesRequestResource: { instances: ['zones/us-central1-a/instances/nope', `zones/us-central1-a/instances/${running.name}`], skipInstancesOnValidationError: true } });
  t.equal((await igm.get(ref))[0].targetSize, 2, 'deleteInstances lowers the target size');
  await waitFor(async () => !(await igm.listManagedInstances(ref, { autoPaginate: false }))[0].some((m) => m.name === running.name), { what: 'the instance to leave the list' });
  t.match(await sdkError(instances.get({ ...WHERE, instance: running.name! })), { status: 404, message: `The resource 'projects/fleetrunner-test/zones/us-central1-a/instances/${running.name}' was not found` });
  await waitFor(async () => (await igm.listManagedInstances(ref, { autoPaginate: false }))[0].filter((m) => m.instanceStatus === 'RUNNING').length === 2, { what: 'the one over quota to start once there is room' });
});

t.test('credentials, errors, throttling and pagination in GCE’s shapes', async (t) => {
  const s = await standin(t, N + 1, { groups: [{ name: 'runners', quota: 6, targetSize: 5, listManagedInstancesResults: 'PAGINATED' }], tokens: ['opaque-token'] });
  const { igm } = clients(s);
  const ref = { ...WHERE, instanceGroupManager: 'runners' };
  await waitFor(async () => (await igm.listManagedInstances(ref, { autoPaginate: false }))[0].length === 5, { what: 'five members' });
  const pages: number[] = [];
  let request: Record<string, unknown> | null = { ...ref, maxResults: 2 };
  while (request) {
    const [items, next] = await igm.listManagedInstances(request, { autoPaginate: false });
    pages.push(items.length);
    request = next as Record<string, unknown> | null;
  }
  t.same(pages, [2, 2, 1], 'PAGINATED groups page by maxResults through nextPageToken');
  const all = [];
  for await (const m of igm.listManagedInstancesAsync({ ...ref, maxResults: 2 })) all.push(m.name);
  t.equal(new Set(all).size, 5, 'the SDK’s own paging sees them all');

  const stranger = new GoogleAuth({ credentials: newServiceAccountKey('fleetrunner-test', 'stranger').file, scopes: ['https://www.googleapis.com/auth/compute'] });
  t.match(await sdkError(clients(s, stranger).igm.get(ref)), { status: 401, reason: 'authError', message: /^Request had invalid authentication credentials/ }, 'an unknown key');
  const opaque = new OAuth2Client();
  opaque.setCredentials({ access_token: 'opaque-token', expiry_date: Date.now() + 3_600_000 });
  const url = new URL(s.endpoint);
  const { InstanceGroupManagersClient } = await import('@google-cloud/compute/build/src/v1/instance_group_managers_client.js');
  const byToken = new InstanceGroupManagersClient({ apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http', authClient: opaque });
  t.equal((await byToken.get(ref))[0].name, 'runners', 'an accepted opaque token');
  const unsigned = await fetch(`${s.endpoint}/compute/v1/projects/fleetrunner-test/zones/us-central1-a/instanceGroupManagers/runners`);
  t.equal(unsigned.status, 401);
  t.match(await unsigned.json(), { error: { code: 401, message: /^Request is missing required authentication credential/, errors: [{ reason: 'required', domain: 'global' }] } });

  const noFlavor = await fetch(`http://${s.metadataHost}/computeMetadata/v1/instance/service-accounts/default/token`);
  t.equal(noFlavor.status, 403, 'the metadata server wants Metadata-Flavor: Google');
  const md = await fetch(`http://${s.metadataHost}/computeMetadata/v1/instance/service-accounts/default/token?scopes=x`, { headers: { 'Metadata-Flavor': 'Google' } });
  t.equal(md.headers.get('metadata-flavor'), 'Google');
  const { access_token: issued } = (await md.json()) as { access_token: string };
  const mdAuth = new OAuth2Client();
  mdAuth.setCredentials({ access_token: issued, expiry_date: Date.now() + 3_600_000 });
  const byMetadata = new InstanceGroupManagersClient({ apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http', authClient: mdAuth });
  t.equal((await byMetadata.get(ref))[0].name, 'runners', 'a token from the metadata server is accepted');

  t.match(await sdkError(igm.get({ ...ref, instanceGroupManager: 'nope' })), { status: 404, reason: 'notFound', message: "The resource 'projects/fleetrunner-test/zones/us-central1-a/instanceGroupManagers/nope' was not found" });
  t.match(await sdkError(igm.get({ ...ref, project: 'other-project' })), { status: 404, message: "The resource 'projects/other-project' was not found" });
  t.match(await sdkError(igm.resize({ ...ref, size: 1001 })), { status: 400, reason: 'invalid' });

  s.faults.addThrottle({ count: 1, retryAfterSeconds: 3 });
  t.match(await sdkError(igm.get(ref)), { status: 429, reason: 'rateLimitExceeded', retryAfter: '3' });
  s.faults.addThrottle({ count: 1, status: 503, actions: ['instanceGroupManagers.get'] });
  t.match(await sdkError(igm.get(ref)), { status: 503, reason: 'backendError', retryAfter: null });
  t.equal((await igm.get(ref))[0].name, 'runners', 'then calls go through');
  t.equal(s.faults.throttled, 2);
  t.ok((s.calls.get('compute:instanceGroupManagers.get') ?? 0) >= 5, 'calls are counted by method');
});
