import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { defaultConnectorConfig, runConformance, runPlugin, type RunningPlugin } from '@fleetrunner/fleeting';
import { sshExec, tmpDir } from '@fleetrunner/testing';
import { isAlive } from '../src/proc.js';
import { StateStore } from '../src/state-store.js';
import { LocalInstanceGroup } from '../src/index.js';
import { connect, purge, runningInstances, untilUpdate } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/plugin.js', import.meta.url));
const subnet = '127.78.5.0/24';

async function start(t: Test, stateDir: string): Promise<RunningPlugin> {
  const p = await runPlugin(BIN, { name: 'local' });
  t.teardown(() => p.stop());
  await p.group.init({ pluginConfig: { state_dir: stateDir, subnet }, connector: defaultConnectorConfig() });
  return p;
}

t.test('the plugin binary serves the group over the plugin transport; instances outlive it', async (t) => {
  const dir = tmpDir(t);
  t.teardown(() => purge(dir));
  const first = await start(t, dir);
  const [id] = await runningInstances(first.group, 1);
  const client = await connect(t, first.group, id!);
  t.match((await sshExec(client, 'pwd')).stdout, /\/instances\/local-1\/home\n$/);
  await t.rejects(first.group.connectInfo('nope'), { code: 'instance_not_found' }, 'codes survive the wire');
  await first.stop();
  const rec = (await new StateStore(dir).load(id!))!;
  t.ok(isAlive(rec), 'the instance survives the plugin process');

  const second = await start(t, dir);
  t.same(await second.group.update(), [{ id, state: 'running' }], 'a new plugin process finds it');
  t.equal((await sshExec(client, 'echo still here')).stdout, 'still here\n', 'open connections are unaffected');
  t.same((await second.group.decrease([id!])).succeeded, [id]);
  await untilUpdate(second.group, (l) => l.length === 0, `${id} gone`);
  t.notOk(isAlive(rec));
});

const sshdInstalled = existsSync('/usr/sbin/sshd');
for (const mode of ['ssh2', 'sshd'] as const) {
  for (const where of ['in process', 'plugin binary'] as const) {
    t.test(`conformance suite passes (${mode} mode, ${where})`, { skip: mode === 'sshd' && !sshdInstalled ? 'OpenSSH sshd is not installed' : false }, async (t) => {
    const dir = tmpDir(t);
    t.teardown(() => purge(dir));
    const p = where === 'plugin binary' ? await runPlugin(BIN, { name: 'local' }) : await runPlugin(() => new LocalInstanceGroup());
    t.teardown(() => p.stop());
    const report = await runConformance(p.group, { pluginConfig: { state_dir: dir, subnet, mode }, timeoutMs: 60_000, pollIntervalMs: 50 });
    for (const c of report.checks) t.not(c.status, 'fail', `${c.name}: ${c.detail}`);
    t.ok(report.passed);
  });
  }
}
