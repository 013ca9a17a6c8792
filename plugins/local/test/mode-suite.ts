// The behaviour both modes must share, run by ssh2-mode.test.ts and sshd-mode.test.ts against real instances.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { hasCode } from '@fleetrunner/common';
import { connectConfigOf, sshConnect, sshExec, tmpDir, waitFor } from '@fleetrunner/testing';
import type { LocalMode } from '../src/index.js';
import { isAlive, killInstanceProcesses } from '../src/proc.js';
import { StateStore } from '../src/state-store.js';
import { connect, pidAlive, runningInstances, startGroup, untilAll, untilUpdate } from './harness.js';

function echoServer(t: Test, listen: (srv: Server) => void): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer((sock) => sock.pipe(sock));
    t.teardown(() => srv.close());
    srv.once('listening', () => resolve(srv));
    listen(srv);
  });
}

function roundTrip(stream: NodeJS.ReadWriteStream, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    stream.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) resolve(got);
    });
    stream.on('error', reject);
    stream.write(text);
  });
}

/** Registers the shared tests for `mode`; `subnet` must be unique per test file (files run in parallel). */
export function modeSuite(t: Test, mode: LocalMode, subnet: string): void {
  const pluginConfig = { mode, subnet };
  const me = userInfo().username;

  t.test(`${mode}: instances run; commands start in the instance home as the current user`, async (t) => {
    const { group, stateDir } = await startGroup(t, { pluginConfig });
    const ids = await runningInstances(group, 2);
    const infos = await Promise.all(ids.map((id) => group.connectInfo(id)));
    t.not(infos[0]!.internalAddr, infos[1]!.internalAddr, 'one loopback address each');
    for (const [i, id] of ids.entries()) {
      const info = infos[i]!;
      t.match(info, { id, protocol: 'ssh', username: me, externalAddr: '', os: 'linux' });
      t.match(info.internalAddr, /^127\.\d+\.\d+\.\d+$/);
      t.ok(info.protocolPort > 0 && info.protocolPort !== 22, 'an ephemeral port');
      t.match(Buffer.from(info.key).toString(), /^-----BEGIN OPENSSH PRIVATE KEY-----/);
      const client = await connect(t, group, id);
      const home = join(stateDir, 'instances', id, 'home');
      const r = await sshExec(client, 'echo $HOME; id -un; pwd');
      t.same(r, { stdout: `${home}\n${me}\n${home}\n`, stderr: '', code: 0, signal: null }, id);
    }
  });

  t.test(`${mode}: env requests, stdin, stderr, exit status and exit signal`, async (t) => {
    const { group } = await startGroup(t, { pluginConfig });
    const [id] = await runningInstances(group, 1);
    const client = await connect(t, group, id!);
    const cases: { name: string; cmd: string; env?: Record<string, string>; stdin?: string; want: object }[] = [
      { name: 'env', cmd: 'printf "%s|%s" "$FOO" "$BAR"', env: { FOO: 'bar baz', BAR: '$x' }, want: { stdout: 'bar baz|$x', code: 0 } },
      { name: 'stdin', cmd: 'tr a-z A-Z', stdin: 'hello\n', want: { stdout: 'HELLO\n', code: 0 } },
      { name: 'stderr', cmd: 'echo oops >&2; exit 3', want: { stdout: '', stderr: 'oops\n', code: 3 } },
      { name: 'status 255', cmd: 'exit 255', want: { code: 255, signal: null } },
      { name: 'signal', cmd: 'kill -TERM $$', want: { code: null, signal: 'TERM' } },
      { name: 'big output', cmd: 'head -c 3000000 /dev/zero | tr "\\0" x', want: { code: 0 } },
    ];
    for (const c of cases) {
      const r = await sshExec(client, c.cmd, { ...(c.env ? { env: c.env } : {}), ...(c.stdin ? { stdin: c.stdin } : {}) });
      t.match(r, c.want, c.name);
      if (c.name === 'big output') t.equal(r.stdout.length, 3_000_000, 'all output before the exit status');
    }
  });

  t.test(`${mode}: closing a channel early kills the command`, async (t) => {
    const { group } = await startGroup(t, { pluginConfig });
    const [id] = await runningInstances(group, 1);
    const client = await connect(t, group, id!);
    // OpenSSH sshd only hangs up a command whose channel closes when it runs on a pty (then the kernel sends
    // SIGHUP); the ssh2 server kills the command's process group either way.
    const pty = mode === 'sshd';
    const pids = await new Promise<number[]>((resolve, reject) => {
      client.exec('sleep 301 & echo $! $$; exec sleep 300', { pty }, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /(\d+) (\d+)\r?\n/.exec(out);
          if (m) {
            resolve([Number(m[1]), Number(m[2])]);
            stream.close();
          }
        });
      });
    });
    t.equal(pids.length, 2);
    await waitFor(() => pids.every((p) => !pidAlive(p)), { what: `remote processes ${pids.join(', ')} to die` });

    if (mode === 'ssh2') {
      const dropped = await connect(t, group, id!);
      const pid = await new Promise<number>((resolve, reject) =>
        dropped.exec('echo $$; exec sleep 303', (err, stream) => (err ? reject(err) : stream.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))))),
      );
      t.ok(pidAlive(pid));
      dropped.destroy();
      await waitFor(() => !pidAlive(pid), { what: `remote process ${pid} to die after the connection dropped` });
    }
  });

  t.test(`${mode}: shell sessions, keepalive requests, signals`, async (t) => {
    const { group, stateDir } = await startGroup(t, { pluginConfig });
    const [id] = await runningInstances(group, 1);
    const client = await connect(t, group, id!);
    const shell = await new Promise<{ out: string; code: number | null }>((resolve, reject) =>
      client.shell(false, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        let code: number | null = null;
        stream.on('data', (d: Buffer) => (out += d.toString()));
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => resolve({ out, code }));
        stream.end('echo "$HOME"; exit 4\n');
      }),
    );
    t.same(shell, { out: `${join(stateDir, 'instances', id!, 'home')}\n`, code: 4 }, 'shell reads commands from stdin');

    // The client drops the connection once 4 keepalives in a row (250 ms apart) go unanswered, i.e. after 1 s of
    // silence; the command outlasts that, so it only completes when the server answers them.
    const info = await group.connectInfo(id!);
    const eager = await sshConnect({ ...connectConfigOf(info), keepaliveInterval: 250, keepaliveCountMax: 3 });
    t.teardown(() => eager.end());
    t.match(await sshExec(eager, 'sleep 1.5; echo alive'), { stdout: 'alive\n', code: 0 }, 'keepalive requests are answered');

    // OpenSSH refuses the `signal` request for sessions under a ForceCommand, which sshd mode needs.
    if (mode === 'ssh2') {
      const r = await new Promise<{ out: string; code: number | null }>((resolve, reject) =>
        client.exec("trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.02; done", (err, stream) => {
          if (err) return reject(err);
          let out = '';
          let code: number | null = null;
          stream.on('data', (d: Buffer) => {
            out += d.toString();
            if (out === 'ready\n') stream.signal('TERM');
          });
          stream.on('exit', (c: number | null) => (code = c));
          stream.on('close', () => resolve({ out, code }));
        }),
      );
      t.same(r, { out: 'ready\ngot TERM\n', code: 9 }, 'signal request reaches the command');
    }
  });

  t.test(`${mode}: direct-tcpip and direct-streamlocal forwarding`, async (t) => {
    const { group } = await startGroup(t, { pluginConfig });
    const [id] = await runningInstances(group, 1);
    const client = await connect(t, group, id!);
    const tcp = await echoServer(t, (s) => s.listen(0, '127.0.0.1'));
    const port = (tcp.address() as { port: number }).port;
    const ch = await new Promise<NodeJS.ReadWriteStream>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, (err, s) => (err ? reject(err) : resolve(s))),
    );
    t.equal(await roundTrip(ch, 'ping tcp'), 'ping tcp');
    const sockPath = join(tmpDir(t), 'echo.sock');
    await echoServer(t, (s) => s.listen(sockPath));
    const ch2 = await new Promise<NodeJS.ReadWriteStream>((resolve, reject) =>
      client.openssh_forwardOutStreamLocal(sockPath, (err, s) => (err ? reject(err) : resolve(s))),
    );
    t.equal(await roundTrip(ch2, 'ping unix'), 'ping unix');
  });

  t.test(`${mode}: decrease kills every process of the instance and removes its files`, async (t) => {
    const { group, stateDir } = await startGroup(t, { pluginConfig });
    const [id, other] = await runningInstances(group, 2);
    const client = await connect(t, group, id!);
    const bg = await sshExec(client, 'nohup sleep 302 >/dev/null 2>&1 & echo $!');
    const bgPid = Number(bg.stdout.trim());
    t.ok(pidAlive(bgPid), 'a background process outlives its command');
    const rec = (await new StateStore(stateDir).load(id!))!;
    t.ok(isAlive(rec));
    const res = await group.decrease([id!, 'no-such-id']);
    t.same(res.succeeded, [id]);
    t.ok(hasCode(res.error, 'instance_not_found'), 'unknown ids are reported, not thrown');
    const list = await untilUpdate(group, (l) => !l.some((s) => s.id === id), `${id} gone from update`);
    t.same(list.map((s) => s.id), [other], 'the other instance is untouched');
    t.notOk(isAlive(rec), 'instance process gone');
    t.notOk(pidAlive(bgPid), 'background command gone');
    t.notOk(existsSync(join(stateDir, 'instances', id!)), 'files removed');
    await t.rejects(group.connectInfo(id!), { code: 'instance_not_found' });
  });

  t.test(`${mode}: a restarted group finds its instances with the same host and group keys`, async (t) => {
    const dir = tmpDir(t, { prefix: 'fleetrunner-local-restart' });
    const first = await startGroup(t, { pluginConfig, stateDir: dir });
    const [id, doomed] = await runningInstances(first.group, 2);
    let key1: Buffer | undefined;
    await connect(t, first.group, id!, (k) => ((key1 = k), true));
    const info1 = await first.group.connectInfo(id!);
    await first.group.shutdown();

    const second = await startGroup(t, { pluginConfig, stateDir: dir });
    t.same(await second.group.update(), [{ id, state: 'running' }, { id: doomed, state: 'running' }].sort((a, b) => a.id!.localeCompare(b.id!)));
    const info2 = await second.group.connectInfo(id!);
    t.same(Buffer.from(info2.key), Buffer.from(info1.key), 'same group key');
    t.equal(`${info2.internalAddr}:${info2.protocolPort}`, `${info1.internalAddr}:${info1.protocolPort}`);
    let key2: Buffer | undefined;
    const client = await connect(t, second.group, id!, (k) => ((key2 = k), true));
    t.ok(key1 && key2 && key1.equals(key2), 'same host key');
    t.equal((await sshExec(client, 'echo ok')).stdout, 'ok\n');

    // An instance whose processes died behind the plugin's back is broken, not running, until it is deleted.
    const rec = (await new StateStore(dir).load(doomed!))!;
    killInstanceProcesses(rec);
    await untilAll(second.group, [doomed!], 'timeout');
    await second.group.shutdown();
    const third = await startGroup(t, { pluginConfig, stateDir: dir });
    t.match(await third.group.update(), [{ id, state: 'running' }, { id: doomed, state: 'timeout' }]);
    t.same((await third.group.decrease([doomed!])).succeeded, [doomed]);
    await untilUpdate(third.group, (l) => l.length === 1, `${doomed} deleted`);
    t.notOk(existsSync(join(dir, 'instances', doomed!)));
  });

  t.test(`${mode}: the OpenSSH ssh client logs in with the group key`, async (t) => {
    const { group, stateDir } = await startGroup(t, { pluginConfig });
    const [id] = await runningInstances(group, 1);
    const info = await group.connectInfo(id!);
    const keyPath = join(tmpDir(t), 'key');
    writeFileSync(keyPath, info.key, { mode: 0o600 });
    const args = ['-i', keyPath, '-p', String(info.protocolPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    args.push('-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `${info.username}@${info.internalAddr}`, 'true && pwd');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('ssh', args, { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout))),
    );
    t.equal(out, `${join(stateDir, 'instances', id!, 'home')}\n`);
  });
}
