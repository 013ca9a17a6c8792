import t from 'tap';
import { waitFor } from '@fleetrunner/testing';
import { standin } from './harness.js';

const N = 44;

t.test('an instance terminated while its machine starts leaves no machine behind', async (t) => {
  const s = await standin(t, N, { groups: [{ name: 'runners', maxSize: 1 }] });
  s.cloud.setDesiredCapacity('runners', 1);
  // Pending without a machine: the stand-in is inside Backend.launch for it.
  const starting = await waitFor(() => [...s.cloud.instances.values()].find((i) => i.ec2State === 'pending' && i.backendId === undefined), { what: 'a machine starting', intervalMs: 1 });
  s.cloud.terminateInGroup(starting.id, true);
  await waitFor(() => starting.ec2State === 'terminated', { what: 'the instance terminated' });
  await waitFor(async () => (await s.cloud.options.backend.states()).size === 0, { what: 'its machine gone' });
  t.equal(s.cloud.groups.get('runners')!.desiredCapacity, 0);
});
