import t from 'tap';
import { QueryParams } from '../src/api/query.js';
import { parseAuthorization } from '../src/api/sigv4.js';
import { documentXml, el, els } from '../src/api/xml.js';
import { parseStandinArgs } from '../src/cli.js';

t.test('query parameters: both list dialects and EC2 filters', async (t) => {
  const q = new QueryParams('Action=X&Names.member.2=b&Names.member.1=a&InstanceId.10=j&InstanceId.2=i&Filter.1.Name=f&Filter.1.Value.1=v1&Filter.1.Value.2=v2&Flag=true&N=7');
  t.same(q.list('Names', true), ['a', 'b']);
  t.same(q.list('InstanceId'), ['i', 'j'], 'numeric order, not text order');
  t.same(q.filters(), [{ name: 'f', values: ['v1', 'v2'] }]);
  t.equal(q.bool('Flag'), true);
  t.equal(q.int('N'), 7);
  t.throws(() => q.required('Missing'), { code: 'MissingParameter' });
  t.throws(() => new QueryParams('N=x').int('N'), { code: 'ValidationError' });
});

t.test('XML: text is escaped, absent members are left out', async (t) => {
  const doc = documentXml('R', 'urn:x', els(el('A', '<&"\'>'), el('B', undefined), el('C', 3), el('D', [el('member', 'x')])));
  t.equal(doc, '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="urn:x"><A>&lt;&amp;&quot;&apos;&gt;</A><C>3</C><D><member>x</member></D></R>\n');
});

t.test('SigV4 Authorization header', async (t) => {
  const sig = 'a'.repeat(64);
  t.same(parseAuthorization(`AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`), {
    accessKeyId: 'AKID',
    date: '20260101',
    region: 'us-east-1',
    service: 'ec2',
    signedHeaders: ['host', 'x-amz-date'],
    signature: sig,
  });
  for (const bad of [undefined, 'Basic x', 'AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=zz']) t.equal(parseAuthorization(bad), undefined, String(bad));
});

t.test('command line', async (t) => {
  const { options, logLevel } = parseStandinArgs(['--group', 'a,max=3,desired=1,boot-delay=500,platform=windows,spot,no-public-ip', '--throttle', 'count=5,actions=ec2:DescribeInstances+SetDesiredCapacity', '--ssh-port', '2222', '--log-level', 'debug']);
  t.same(options.groups, [{ name: 'a', maxSize: 3, desiredCapacity: 1, bootDelayMs: 500, platform: 'windows', spot: true, publicIp: false }]);
  t.same(options.throttle, [{ count: 5, actions: ['ec2:DescribeInstances', 'SetDesiredCapacity'] }]);
  t.equal(options.sshPort, 2222);
  t.equal(logLevel, 'debug');
  t.throws(() => parseStandinArgs(['--group', 'a,colour=red']), /unknown setting/);
  t.throws(() => parseStandinArgs(['--secret-access-key', 'x']), /needs --access-key-id/);
});
