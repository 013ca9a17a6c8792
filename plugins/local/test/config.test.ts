import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hasCode } from '@fleetrunner/common';
import { defaultConnectorConfig } from '@fleetrunner/fleeting';
import { tmpDir } from '@fleetrunner/testing';
import { LocalInstanceGroup, parseLocalConfig } from '../src/index.js';
import { parseSubnet, subnetHosts } from '../src/subnet.js';

const env = { HOME: '/home/u', XDG_STATE_HOME: undefined };

t.test('defaults', async (t) => {
  const c = parseLocalConfig(undefined, env);
  t.match(c, {
    name: 'local',
    mode: 'ssh2',
    stateDir: '/home/u/.local/state/fleetrunner/local/local',
    maxSize: 16,
    port: 0,
    sshdPath: '/usr/sbin/sshd',
    bootDelayMs: 0,
    failIncreaseEvery: 0,
    failDecreaseEvery: 0,
    vanishAfterMs: 0,
    unhealthy: [],
  });
  t.equal(c.subnet.text, '127.77.0.0/16');
  t.equal(parseLocalConfig({ name: 'ci' }, { HOME: '/h', XDG_STATE_HOME: '/xdg' }).stateDir, '/xdg/fleetrunner/local/ci');
  t.equal(parseLocalConfig('{"state_dir":"~/s"}', env).stateDir, '/home/u/s', 'JSON text and ~ expansion');
  t.equal(parseLocalConfig(new TextEncoder().encode(''), env).name, 'local', 'empty JSON bytes = defaults');
});

t.test('every key is read', async (t) => {
  const c = parseLocalConfig(
    {
      name: 'g1', mode: 'sshd', state_dir: '/s', max_size: 3, subnet: '127.5.6.7/24', port: 2222, sshd_path: '/opt/sshd',
      boot_delay: '1m30s', fail_increase_every: 2, fail_decrease_every: 3, vanish_after: '150ms', unhealthy: [2, 'g1-3'],
    },
    env,
  );
  t.match(c, { name: 'g1', mode: 'sshd', stateDir: '/s', maxSize: 3, port: 2222, sshdPath: '/opt/sshd', bootDelayMs: 90_000 });
  t.match(c, { failIncreaseEvery: 2, failDecreaseEvery: 3, vanishAfterMs: 150, unhealthy: [2, 'g1-3'] });
  t.equal(c.subnet.text, '127.5.6.0/24');
});

t.test('bad keys are named with what they expect, all at once', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['unknown key', { nmae: 'x' }, /plugin_config\.nmae: unknown key \(expected one of name, mode/],
    ['mode', { mode: 'docker' }, /plugin_config\.mode: expected "ssh2" or "sshd", got "docker"/],
    ['name', { name: 'a/b' }, /plugin_config\.name: expected a name of letters/],
    ['max_size type', { max_size: '4' }, /plugin_config\.max_size: expected an integer from 1 to 65000, got "4"/],
    ['max_size zero', { max_size: 0 }, /plugin_config\.max_size/],
    ['port', { port: 70000 }, /plugin_config\.port: expected an integer port from 0 to 65535/],
    ['subnet outside loopback', { subnet: '10.0.0.0/8' }, /plugin_config\.subnet: expected a subnet inside 127\.0\.0\.0\/8/],
    ['subnet prefix', { subnet: '127.0.0.0/31' }, /plugin_config\.subnet: expected a prefix length between 8 and 30/],
    ['subnet too small', { subnet: '127.9.9.0/29', max_size: 10 }, /plugin_config\.max_size: expected at most the 6 addresses of subnet 127\.9\.9\.0\/29, got 10/],
    ['duration number', { boot_delay: 5 }, /plugin_config\.boot_delay: expected a non-negative Go duration string like "2s"/],
    ['duration text', { vanish_after: '5 minutes' }, /plugin_config\.vanish_after: expected a non-negative Go duration/],
    ['negative duration', { boot_delay: '-1s' }, /plugin_config\.boot_delay/],
    ['fail every', { fail_increase_every: -1 }, /plugin_config\.fail_increase_every: expected a non-negative integer/],
    ['unhealthy', { unhealthy: [0] }, /plugin_config\.unhealthy: expected a list of instance ids/],
    ['state_dir', { state_dir: '' }, /plugin_config\.state_dir: expected a non-empty string/],
    ['not an object', [1], /plugin_config: expected an object/],
    ['bad JSON', '{', /plugin_config: expected a JSON object/],
  ];
  for (const [name, raw, re] of cases) {
    const err = (() => {
      try {
        parseLocalConfig(raw, env);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(hasCode(err, 'invalid_argument'), `${name}: invalid_argument`);
    t.match((err as Error | undefined)?.message, re, name);
  }
  const both = (() => {
    try {
      parseLocalConfig({ mode: 1, port: -1 }, env);
    } catch (e) {
      return (e as Error).message;
    }
  })();
  t.match(both, /plugin_config\.mode: .*; plugin_config\.port: /, 'several problems reported together');
});

t.test('subnets yield usable loopback addresses', async (t) => {
  const s = parseSubnet('127.77.0.0/23');
  if (typeof s === 'string') throw new Error(s);
  const hosts = [...subnetHosts(s)];
  t.equal(hosts[0], '127.77.0.1');
  t.notOk(hosts.some((h) => h.endsWith('.0') || h.endsWith('.255')), 'no .0 or .255');
  t.equal(hosts.length, 508);
  const low = parseSubnet('127.0.0.0/30');
  if (typeof low === 'string') throw new Error(low);
  t.same([...subnetHosts(low)], ['127.0.0.2'], '127.0.0.1 is left to other local services');
});

t.test('init rejects bad settings before touching anything', async (t) => {
  const dir = join(tmpDir(t), 'state');
  const cases: { name: string; pluginConfig: unknown; connector?: object; re: RegExp }[] = [
    { name: 'bad key', pluginConfig: { state_dir: dir, bogus: 1 }, re: /plugin_config\.bogus: unknown key/ },
    { name: 'winrm', pluginConfig: { state_dir: dir }, connector: { protocol: 'winrm' }, re: /connector_config\.protocol: the local plugin serves "ssh" only/ },
    { name: 'sshd missing', pluginConfig: { state_dir: dir, mode: 'sshd', sshd_path: '/nonexistent/sshd' }, re: /\/nonexistent\/sshd is missing or not executable; install openssh-server or set plugin_config\.sshd_path/ },
    { name: 'sshd relative', pluginConfig: { state_dir: dir, mode: 'sshd', sshd_path: 'sshd' }, re: /plugin_config\.sshd_path: expected an absolute path/ },
    { name: 'static, nothing given', pluginConfig: { state_dir: dir }, connector: { useStaticCredentials: true }, re: /use_static_credentials needs a key \(key_path\) or a password/ },
    { name: 'static, bad key', pluginConfig: { state_dir: dir }, connector: { useStaticCredentials: true, key: new TextEncoder().encode('nope') }, re: /parsing connector_config key/ },
    { name: 'sshd, static password', pluginConfig: { state_dir: dir, mode: 'sshd' }, connector: { useStaticCredentials: true, password: 'pw' }, re: /sshd mode supports key login only/ },
  ];
  for (const c of cases) {
    if (c.name.startsWith('sshd, ') && !existsSync('/usr/sbin/sshd')) continue;
    const g = new LocalInstanceGroup();
    await t.rejects(g.init({ pluginConfig: c.pluginConfig, connector: defaultConnectorConfig(c.connector) }), { code: 'invalid_argument', message: c.re }, c.name);
    await t.rejects(g.update(), { code: 'invalid_argument', message: /init has not been called/ }, `${c.name}: not initialized`);
    t.notOk(existsSync(dir), `${c.name}: no state dir created`);
  }
});

t.test('provider info', async (t) => {
  const g = new LocalInstanceGroup();
  t.teardown(() => g.shutdown());
  const info = await g.init({ pluginConfig: { state_dir: tmpDir(t), name: 'pi', max_size: 5 }, connector: defaultConnectorConfig() });
  t.match(info, { id: /^local\/.+\/pi$/, maxSize: 5, version: /^\d+\.\d+\.\d+/, capabilities: [] });
  t.match(info.buildInfo, /node=v\d+.*os_arch=linux\//);
  await t.rejects(g.init({ pluginConfig: {}, connector: defaultConnectorConfig() }), /already called/);
  await g.shutdown();
  await t.rejects(g.update(), { code: 'unavailable' });
});
