import t from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { formatHandshake, parseHandshake, pickAppVersion } from '../src/index.js';

t.test('parses handshake lines by the host rules', async (t) => {
  const cert = 'A'.repeat(51);
  const ok: { name: string; line: string; want: Record<string, unknown> }[] = [
    { name: 'ours', line: formatHandshake(1, 'unix', '/tmp/plugin123'), want: { appVersion: 1, network: 'unix', address: '/tmp/plugin123', protocol: 'grpc' } },
    { name: 'trailing newline and spaces', line: '  1|1|tcp|127.0.0.1:1234|grpc|\n', want: { network: 'tcp', address: '127.0.0.1:1234' } },
    { name: 'short field 6 is not a cert', line: '1|1|unix|/s|grpc|short', want: { serverCert: undefined } },
    { name: 'long field 6 is a cert', line: `1|1|unix|/s|grpc|${cert}`, want: { serverCert: cert } },
    { name: 'field 7 multiplex', line: '1|1|unix|/s|grpc||true', want: { multiplex: true } },
    { name: 'field 7 as strconv.ParseBool reads it', line: '1|1|unix|/s|grpc||1', want: { multiplex: true } },
    { name: 'field 7 false', line: '1|1|unix|/s|grpc||F', want: { multiplex: false } },
    { name: 'second accepted version', line: '1|2|unix|/s|grpc|', want: { appVersion: 2 } },
  ];
  for (const c of ok) t.match(parseHandshake(c.line, [1, 2]), c.want, c.name);

  const bad: { name: string; line: string; match: RegExp }[] = [
    { name: 'garbage', line: 'hello world', match: /unrecognized plugin message.*"hello world"/ },
    { name: 'three fields', line: '1|1|unix', match: /unrecognized/ },
    { name: 'core version', line: '2|1|unix|/s|grpc|', match: /incompatible core protocol version "2"/ },
    { name: 'app version', line: '1|3|unix|/s|grpc|', match: /unsupported app protocol version "3" \(host accepts 1, 2\)/ },
    { name: 'app version not a number', line: '1|x|unix|/s|grpc|', match: /unsupported app protocol version "x"/ },
    { name: 'network', line: '1|1|udp|/s|grpc|', match: /unknown network "udp"/ },
    { name: 'netrpc when field 5 is absent', line: '1|1|unix|/s', match: /unsupported protocol "netrpc"/ },
    { name: 'netrpc', line: '1|1|unix|/s|netrpc|', match: /unsupported protocol "netrpc"/ },
    { name: 'empty address', line: '1|1|unix||grpc|', match: /empty address/ },
    { name: 'multiplex not a boolean', line: '1|1|unix|/s|grpc||yes', match: /error parsing "yes" as a boolean for multiplexing support/ },
  ];
  for (const c of bad) {
    t.throws(() => parseHandshake(c.line, [1, 2]), c.name);
    try {
      parseHandshake(c.line, [1, 2]);
    } catch (err) {
      t.ok(err instanceof RunnerError && err.code === 'plugin_handshake', `${c.name}: code`);
      t.match((err as Error).message, c.match, c.name);
    }
  }
});

t.test('picks the highest served app version that the host accepts', async (t) => {
  t.equal(pickAppVersion([1], '1'), 1);
  t.equal(pickAppVersion([1, 2, 3], '2,1'), 2);
  t.equal(pickAppVersion([1, 2], '3,4'), 1, 'none shared: the lowest, for the host to reject');
  t.equal(pickAppVersion([2, 1], undefined), 1, 'no list: the lowest');
});
