import t from 'tap';
import { waitFor } from '@fleetrunner/testing';
import { standin } from './harness.js';

const N = 53;
const ZONE = 'us-central1-a';

t.test('an instance deleted while its machine starts leaves no machine behind (deleteInstances and out of band)', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', quota: 2 }] });
  const g = s.cloud.putGroup({ name: 'runners', targetSize: 1, quota: 2 });
  // PROVISIONING without a machine: the stand-in is inside Backend.launch for it.
  const starting = await waitFor(() => g.instances.find((i) => i.status === 'PROVISIONING' && i.backendId === undefined), { what: 'a machine starting', intervalMs: 1 });
  s.cloud.deleteInstances(ZONE, 'runners', [`zones/${ZONE}/instances/${starting.name}`], false);
  await waitFor(async () => g.instances.length === 0 && (await s.cloud.options.backend.states()).size === 0, { what: 'the instance and its machine gone' });

  g.targetSize = 1;
  const again = await waitFor(() => g.instances.find((i) => i.status === 'PROVISIONING' && i.backendId === undefined), { what: 'a machine starting', intervalMs: 1 });
  s.cloud.deleteOutOfBand(ZONE, again.name);
  const recreated = await waitFor(() => (again.currentAction === 'NONE' && again.status === 'RUNNING' ? again : undefined), { what: 'the VM recreated and running' });
  const machines = await s.cloud.options.backend.states();
  t.equal(machines.size, 1, 'one machine: the recreated VM’s, none left from the first attempt');
  t.ok(machines.has(recreated.backendId!));
});
