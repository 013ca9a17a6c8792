// An instance that goes away under a running script, seen from the executor over a real SSH connection: an
// in-process ssh2 server plays an instance whose processes die one by one (the shell is killed and reported, then
// the machine is gone) or all at once (the channel closes without any exit status). Either way the job is a
// system failure, never a script failure with a made-up exit code.
import t, { type Test } from 'tap';
import ssh2, { type ServerChannel } from 'ssh2';
import { systemClock } from '@fleetrunner/common';
import { SshConnector } from '@fleetrunner/connector';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { generateEd25519 } from '@fleetrunner/testing';
import { LocalArtifactBackend, runJob } from '../src/index.js';
import { LogCapture, payload, step, stores } from './support/job-harness.js';

const HOST = '127.85.9.1';
const DOOM = 'the-instance-vanishes-now';
/** The line that ends each stage written to the job's shell (job/stage-shell.ts). */
const STAGE_END = /printf '\\036FR([0-9a-f]+):%s\\037' "\$__fr_rc"; printf '\\036FR[0-9a-f]+:\\037' >&2\n/;

type Ending = 'signal-then-gone' | 'no-status' | 'exit-then-alive';

/** A one-connection instance: every script exits 0, except the one containing {@link DOOM}, which ends as `ending` says. */
async function instance(t: Test, ending: Ending): Promise<number> {
  const server = new ssh2.Server({ hostKeys: [generateEd25519('lost-host').privateKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.accept());
    let gone = false;
    const vanish = (): void => {
      gone = true;
      setImmediate(() => client.end());
    };
    client.on('ready', () => {
      client.on('session', (accept) => {
        // A machine that is gone answers nothing more.
        if (gone) return;
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream: ServerChannel = acceptExec();
          const mark = /^echo "(FLEETRUNNER-[0-9a-f]+:)\$\$"/.exec(info.command)?.[1] ?? '';
          stream.write(`${mark}4242\n`);
          // The job's shell reads stage after stage from stdin, each ended by a line that prints its end markers:
          // answer those as a shell would (status 0), and the doomed stage as `ending` says.
          let stdin = '';
          let ended = false;
          stream.on('data', (d: Buffer) => {
            stdin += d.toString();
            for (let m = STAGE_END.exec(stdin); m && !ended; m = STAGE_END.exec(stdin)) {
              const stage = stdin.slice(0, m.index);
              stdin = stdin.slice(m.index + m[0].length);
              const nonce = m[1]!;
              if (!stage.includes(DOOM) || ending === 'exit-then-alive') {
                stream.write(`\x1eFR${nonce}:${stage.includes(DOOM) ? 3 : 0}\x1f`);
                stream.stderr.write(`\x1eFR${nonce}:\x1f`);
              } else if (ending === 'signal-then-gone') {
                ended = true;
                stream.exit('KILL', false, '');
                stream.end();
                vanish();
              } else {
                ended = true;
                stream.close();
                vanish();
              }
            }
          });
          stream.on('end', () => {
            if (ended) return;
            stream.exit(0);
            stream.end();
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const CASES: { ending: Ending; reason: string; log: RegExp }[] = [
  { ending: 'signal-then-gone', reason: 'runner_system_failure', log: /Job failed \(system failure\): connection to instance lost-1 .*lost.*\(after step_script failed\)/ },
  { ending: 'no-status', reason: 'runner_system_failure', log: /Job failed \(system failure\): connection to instance lost-1 lost: the command ended without an exit status/ },
  { ending: 'exit-then-alive', reason: 'script_failure', log: /Job failed: exit code 3/ },
];

for (const c of CASES) {
  t.test(`a script that ends as "${c.ending}": ${c.reason}`, async (t) => {
    const port = await instance(t, c.ending);
    const connector = new SshConnector();
    t.teardown(() => connector.shutdown());
    const connection = await connector.connect({ ...defaultConnectorConfig(), id: 'lost-1', internalAddr: HOST, externalAddr: '', protocolPort: port, username: 'u', password: 'p' });
    const st = stores();
    t.teardown(() => st.cleanup());
    const p = payload({ steps: [step([`echo ${DOOM}`])] });
    const log = new LogCapture();
    const result = await runJob({
      payload: p,
      connection,
      instanceId: 'lost-1',
      slot: 0,
      concurrentId: 0,
      concurrentProjectId: 0,
      settings: { shell: 'sh', shortToken: 'abcd1234', managerHostname: 'manager', runnerVersion: { version: '0.1.0', revision: 'test' }, killGraceMs: 100 },
      log,
      artifacts: new LocalArtifactBackend(st.artifacts, p.id),
      cache: st.cache,
      clock: systemClock,
    });
    t.equal(result.failureReason, c.reason, log.text);
    t.match(log.text, c.log);
    if (c.reason !== 'script_failure') t.notMatch(log.text, /exit code/, 'no exit code is made up');
  });
}
