import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tmpDir } from '@fleetrunner/testing';
import { sshdArgs, sshdCommandScript, type LaunchSpec } from '../src/launch.js';

t.test('the sshd ForceCommand script quotes paths and replaces itself with /bin/sh in the home', async (t) => {
  const base = tmpDir(t);
  const home = join(base, `it's "home" $x`);
  mkdirSync(home);
  const script = join(base, 'command.sh');
  writeFileSync(script, sshdCommandScript(home, '/usr/bin:/bin', '/state/instances/i-1'), { mode: 0o755 });
  const run = (env: Record<string, string>, input = ''): string => execFileSync('/bin/sh', [script], { env, input, cwd: '/' }).toString();
  const cmd = 'pwd; echo "$HOME|$PATH|$SHELL|$FLEETRUNNER_LOCAL_INSTANCE"';
  t.equal(run({ SSH_ORIGINAL_COMMAND: cmd, HOME: '/root', PATH: '/nowhere' }), `${home}\n${home}|/usr/bin:/bin|/bin/sh|/state/instances/i-1\n`);
  t.equal(run({}, 'echo shell in "$PWD"\n'), `shell in ${home}\n`, 'no command: a shell reading stdin');
});

t.test('sshd arguments: no system config, this instance only', async (t) => {
  const spec: LaunchSpec = {
    mode: 'sshd', dir: '/s/instances/local-1', home: '/s/instances/local-1/home', ip: '127.77.0.3', port: 40001, username: 'ci',
    hostPrivateKey: '', hostPublicKey: '', authorizedKeys: [], path: '/bin', sshdPath: '/usr/sbin/sshd',
  };
  const args = sshdArgs(spec);
  t.same(args.slice(0, 4), ['-D', '-e', '-f', '/dev/null']);
  const opts = args.filter((_, i) => args[i - 1] === '-o');
  for (const o of ['ListenAddress=127.77.0.3:40001', 'HostKey=/s/instances/local-1/host_key', 'AuthorizedKeysFile=/s/instances/local-1/authorized_keys',
    'PidFile=none', 'StrictModes=no', 'UsePAM=no', 'AllowUsers=ci', 'SetEnv=HOME=/s/instances/local-1/home', "ForceCommand=exec '/s/instances/local-1/command.sh'"]) {
    t.ok(opts.includes(o), o);
  }
  t.notOk(sshdArgs({ ...spec, home: '/s/a b/home' }).some((a) => a.startsWith('SetEnv=')), 'no SetEnv for a home sshd would split');
});
