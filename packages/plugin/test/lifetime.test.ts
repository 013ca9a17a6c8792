import { spawn } from 'node:child_process';
import t from 'tap';
import { startPlugin } from '../src/index.js';
import { fixture, processGone, recordingLogger, waitUntil } from './helpers.js';

/** Starts the manager fixture and resolves with the pid of the plugin it started. */
function startManager(mode: 'wait' | 'exit', lifeline = true): Promise<{ managerPid: number; pluginPid: number; exited: Promise<void> }> {
  const args = [fixture('manager'), fixture('good-plugin'), mode, lifeline ? 'lifeline' : 'no-lifeline'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /pid (\d+)\n/.exec(out);
      if (m) resolve({ managerPid: child.pid!, pluginPid: Number(m[1]), exited });
    });
    child.once('exit', (code) => {
      if (!/pid \d+/.test(out)) reject(new Error(`manager exited early with ${code}: ${out}`));
    });
  });
}

t.test('a SIGKILLed manager does not leave its plugin running (stdin lifeline)', async (t) => {
  const { managerPid, pluginPid, exited } = await startManager('wait');
  t.notOk(processGone(pluginPid), 'plugin runs while the manager lives');
  process.kill(managerPid, 'SIGKILL');
  await exited;
  await waitUntil(() => processGone(pluginPid, true), 20_000);
  t.pass('plugin gone');
});

t.test('without the stdin lifeline, the plugin notices its parent changing', async (t) => {
  const { managerPid, pluginPid, exited } = await startManager('wait', false);
  process.kill(managerPid, 'SIGKILL');
  await exited;
  await waitUntil(() => processGone(pluginPid, true), 20_000);
  t.pass('plugin gone');
});

t.test('a manager that calls process.exit kills its plugin synchronously', async (t) => {
  const { pluginPid, exited } = await startManager('exit');
  await exited;
  await waitUntil(() => processGone(pluginPid, true), 20_000);
  t.pass('plugin gone');
});

t.test('the plugin ignores SIGINT, SIGQUIT and SIGHUP, and stops on SIGTERM', async (t) => {
  const rec = recordingLogger();
  const p = await startPlugin({ path: fixture('good-plugin'), logger: rec.logger });
  t.teardown(() => p.kill());
  for (const sig of ['SIGINT', 'SIGQUIT', 'SIGHUP'] as const) {
    process.kill(p.pid, sig);
    await rec.waitFor((e) => e.msg.startsWith('ignoring signal') && e.fields.signal === sig);
  }
  await p.ping();
  t.equal(p.state, 'running');
  process.kill(p.pid, 'SIGTERM');
  t.same(await p.exited, { code: 0, signal: null });
  t.ok(processGone(p.pid));
});

t.test('a plugin that was not started by a host refuses to run', async (t) => {
  const child = spawn(process.execPath, [fixture('good-plugin')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  t.equal(code, 1);
  t.match(err, /This binary is a plugin/);
  t.equal(out, '', 'no handshake');
});
