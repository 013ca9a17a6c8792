import t from 'tap';
import { waitFor } from '@fleetrunner/testing';
import { standin } from './harness.js';

const RG = 'fleetrunner-test';

t.test('a VM deleted while its machine starts leaves no machine behind (deleteInstances and out of band)', async (t) => {
  const s = await standin(t, 53, { scaleSets: [{ name: 'runners', quota: 2 }] });
  const ss = s.cloud.scaleSet(RG, 'runners');
  ss.capacity = 1;
  // An address but no machine yet: the stand-in is inside Backend.launch for it.
  const starting = await waitFor(() => ss.vms.find((v) => v.privateIp !== undefined && v.backendId === undefined), { what: 'a machine starting', intervalMs: 1 });
  s.cloud.deleteInstances(ss, [starting.instanceId]);
  await waitFor(async () => ss.vms.length === 0 && (await s.cloud.options.backend.states()).size === 0, { what: 'the VM and its machine gone' });

  ss.capacity = 1;
  const again = await waitFor(() => ss.vms.find((v) => v.privateIp !== undefined && v.backendId === undefined), { what: 'a machine starting', intervalMs: 1 });
  s.cloud.deleteOutOfBand(RG, 'runners', again.instanceId);
  t.equal(ss.capacity, 0);
  await waitFor(async () => ss.vms.length === 0 && (await s.cloud.options.backend.states()).size === 0, { what: 'the VM and its machine gone' });
});
