import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RunnerError, deferred, systemClock } from '@fleetrunner/common';
import { runPlugin, type ConnectInfo } from '@fleetrunner/fleeting';
import { createTaskscaler } from '../src/index.js';
import { cleanUp, realConfig, realGroupSuite, type RealGroupTarget } from './support/real-group-suite.js';

// The taskscaler against plugins/local as a real process over the plugin transport. The binary is spawned by
// path: the taskscaler may not depend on a plugin package.
const BIN = fileURLToPath(new URL('../../../../plugins/local/bin/plugin.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../../../plugins/local/dist/src/main.js', import.meta.url));
const missing = !existsSync(BIN) || !existsSync(BUILT) ? 'plugins/local is not built' : false;

/** Reads the SSH identification line the instance sends on connect. */
function sshBanner(info: ConnectInfo): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: info.internalAddr, port: info.protocolPort || 22 });
    let buf = '';
    sock.setTimeout(10_000, () => sock.destroy(new RunnerError('timeout', `no SSH banner from ${info.internalAddr}`)));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.destroy();
        resolve(buf.slice(0, nl).trim());
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new RunnerError('connection_refused', `connection to ${info.internalAddr} closed without a banner`)));
  });
}

function target(stateDir: string, extra: Record<string, unknown> = {}): RealGroupTarget {
  return {
    pluginConfig: { state_dir: stateDir, subnet: '127.78.9.0/24', max_size: 4, ...extra },
    open: async (t) => {
      const p = await runPlugin(BIN, { name: 'local' });
      t.teardown(() => p.stop());
      return { group: p.group, stop: () => p.stop() };
    },
    probe: async (info) => {
      const banner = await sshBanner(info);
      if (!banner.startsWith('SSH-2.0-')) throw new RunnerError('internal', `unexpected banner ${JSON.stringify(banner)}`);
    },
  };
}

t.test('taskscaler over the local plugin process', { skip: missing }, async (t) => {
  // Clock timers are unref'ed; keep this process alive while it waits on instance processes.
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const tg = target(t.testdir());
  t.teardown(() => cleanUp(t, tg));
  await realGroupSuite(t, tg);
});

t.test('an instance that vanishes behind the plugin aborts the acquisition on it', { skip: missing }, async (t) => {
  const keepAlive = setInterval(() => {}, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const tg = target(t.testdir(), { vanish_after: '3s', subnet: '127.78.10.0/24' });
  t.teardown(() => cleanUp(t, tg));
  const { group, stop } = await tg.open(t);
  const ts = await createTaskscaler(group, realConfig(tg, t.testdir(), { policies: [{ idleCount: 1, preemptiveMode: false }] }), { clock: systemClock });
  t.teardown(() => ts.shutdown());
  const a = await ts.acquire('job');
  const aborted = deferred<unknown>();
  a.signal.addEventListener('abort', () => aborted.resolve(a.signal.reason), { once: true });
  t.match(await aborted.promise, { code: 'instance_not_found', message: new RegExp(`instance ${a.instanceId} was removed unexpectedly`) });
  t.ok(ts.stats().counters.unexpectedRemovals >= 1, 'counted (every instance of this group vanishes after 3 s)');
  t.equal(ts.release('job'), false);
  await ts.shutdown();
  await stop();
});
