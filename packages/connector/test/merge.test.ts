import t from 'tap';
import { defaultConnectorConfig, type ConnectInfo } from '@fleetrunner/fleeting';
import { splitHostPort } from '@fleetrunner/common';
import { dialTarget, HostKeyStore } from '../src/index.js';

const info = (o: Partial<ConnectInfo> = {}): ConnectInfo => ({
  ...defaultConnectorConfig(),
  id: 'i-1',
  internalAddr: '10.0.0.5',
  externalAddr: '203.0.113.9',
  username: 'plugin-user',
  key: Buffer.from('PLUGIN KEY'),
  ...o,
});

t.test('address choice follows use_external_addr with fallback to the only address', async (t) => {
  t.equal(dialTarget({}, info()).host, '10.0.0.5');
  t.equal(dialTarget({ useExternalAddr: true }, info()).host, '203.0.113.9');
  t.equal(dialTarget({ useExternalAddr: true }, info({ externalAddr: '' })).host, '10.0.0.5');
  t.equal(dialTarget({}, info({ internalAddr: '' })).host, '203.0.113.9');
  t.throws(() => dialTarget({}, info({ internalAddr: '', externalAddr: '' })), { code: 'invalid_argument' });
});

t.test('ports: address port, then protocol_port, then the protocol default', async (t) => {
  t.equal(dialTarget({}, info()).port, 22);
  t.equal(dialTarget({ protocolPort: 2200 }, info()).port, 2200);
  t.equal(dialTarget({ protocolPort: 2200 }, info({ protocolPort: 2300 })).port, 2300);
  t.equal(dialTarget({}, info({ internalAddr: '10.0.0.5:2022' })).port, 2022);
  t.same(splitHostPort('[::1]:2222'), { host: '::1', port: 2222 });
  t.same(splitHostPort('::1'), { host: '::1' });
});

t.test('plugin values win unless static credentials are configured', async (t) => {
  const dyn = dialTarget({ username: 'cfg', key: Buffer.from('CFG KEY') }, info());
  t.equal(dyn.info.username, 'plugin-user');
  t.equal(Buffer.from(dyn.info.key).toString(), 'PLUGIN KEY');
  const stat = dialTarget({ username: 'cfg', key: Buffer.from('CFG KEY'), useStaticCredentials: true }, info());
  t.equal(stat.info.username, 'cfg');
  t.equal(Buffer.from(stat.info.key).toString(), 'CFG KEY');
  const filled = dialTarget({ username: 'cfg', timeoutMs: 5000 }, info({ username: '' }));
  t.equal(filled.info.username, 'cfg');
  t.equal(filled.info.timeoutMs, 5000);
  t.throws(() => dialTarget({}, info({ username: '' })), /no username/);
  t.throws(() => dialTarget({}, info({ protocol: 'winrm' })), { code: 'unsupported' });
});

t.test('host keys are pinned per instance on first use', async (t) => {
  const store = new HostKeyStore();
  t.ok(store.verify('a', Buffer.from('key-1')));
  t.ok(store.verify('a', Buffer.from('key-1')));
  t.notOk(store.verify('a', Buffer.from('key-2')), 'a changed key is refused');
  t.ok(store.verify('b', Buffer.from('key-2')), 'another instance pins its own');
  store.forget('a');
  t.ok(store.verify('a', Buffer.from('key-2')), 'a forgotten instance pins anew');
  t.match(store.get('a'), /^SHA256:[A-Za-z0-9+/]+$/);
});
