import t from 'tap';
import { parseReference, formatReference, parseConstraint, highestMatch, compareSemVer, parseSemVer, parseImageTarget, errorKind } from '../src/index.js';
import { parseWwwAuthenticate } from '../src/www-authenticate.js';

t.test('references parse with the documented defaults', async (t) => {
  const cases: [string, string, boolean][] = [
    ['aws', 'registry.gitlab.com/gitlab-org/fleeting/plugins/aws:latest', true],
    ['aws:1', 'registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1', false],
    ['aws:1.2', 'registry.gitlab.com/gitlab-org/fleeting/plugins/aws:1.2', false],
    ['aws:0.0.0-bleeding', 'registry.gitlab.com/gitlab-org/fleeting/plugins/aws:0.0.0-bleeding', false],
    ['hetznercloud/fleeting-plugin-hetzner:latest', 'registry.gitlab.com/hetznercloud/fleeting-plugin-hetzner:latest', false],
    ['registry.gitlab.com/santhanuv/fleeting-plugin-vmware-vsphere:latest', 'registry.gitlab.com/santhanuv/fleeting-plugin-vmware-vsphere:latest', false],
    ['ghcr.io/org/repo/plugin:2', 'ghcr.io/org/repo/plugin:2', false],
    ['127.0.0.1:5000/a/b:1.0.0', '127.0.0.1:5000/a/b:1.0.0', false],
    ['localhost/p', 'localhost/p:latest', false],
    ['gitlab-org/fleeting/plugins/aws', 'registry.gitlab.com/gitlab-org/fleeting/plugins/aws:latest', false],
    ['fleeting-plugin-x', 'registry.gitlab.com/gitlab-org/fleeting/plugins/fleeting-plugin-x:latest', true],
  ];
  for (const [raw, want, bare] of cases) {
    const r = parseReference(raw);
    t.equal(formatReference(r), want, raw);
    t.equal(r.bare, bare, `${raw} bare`);
  }
  const bad: [string, string][] = [
    ['', 'bad_reference'],
    ['aws:1:5', 'bad_reference'],
    ['aws:v1', 'bad_constraint'],
    ['aws:~1', 'bad_constraint'],
    ['aws:01', 'bad_constraint'],
    ['a//b', 'bad_reference'],
    ['Upper/x', 'bad_reference'],
    ['aws@sha256:00', 'bad_reference'],
    ['aws:', 'bad_reference'],
  ];
  for (const [raw, kind] of bad) {
    const err = (() => {
      try {
        parseReference(raw);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.equal(errorKind(err), kind, `"${raw}" → ${kind}`);
  }
});

t.test('constraints pick the highest matching semver tag; prereleases only when pinned', async (t) => {
  const tags = ['1.0.0', '1.2.0', '1.10.0', '1.10.1-rc.1', '2.0.0-beta', 'v3.0.0', 'latest', '0.0.0-bleeding', '1.9.9'];
  const cases: [string, string | undefined][] = [
    ['latest', '1.10.0'],
    ['1', '1.10.0'],
    ['1.2', '1.2.0'],
    ['1.9', '1.9.9'],
    ['2', undefined],
    ['3', undefined],
    ['2.0.0-beta', '2.0.0-beta'],
    ['0.0.0-bleeding', '0.0.0-bleeding'],
    ['1.10.1-rc.1', '1.10.1-rc.1'],
    ['1.0.0', '1.0.0'],
  ];
  for (const [c, want] of cases) t.equal(highestMatch(tags, parseConstraint(c))?.raw, want, `${c} → ${want ?? 'none'}`);
  const order = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
  for (let i = 1; i < order.length; i++) {
    t.ok(compareSemVer(parseSemVer(order[i - 1]!)!, parseSemVer(order[i]!)!) < 0, `${order[i - 1]} < ${order[i]}`);
  }
});

t.test('versions are strict semver without "v": what the semver package would also take is not a version here', async (t) => {
  for (const bad of ['v1.2.3', '=1.2.3', ' 1.2.3', '1.2.3 ', '1.2', '1.2.3.4', '01.2.3', '1.2.3-01', '1.2.3-', 'latest', '']) {
    t.equal(parseSemVer(bad), undefined, JSON.stringify(bad));
  }
  t.equal(parseSemVer('1.2.3-rc.1+build.5')?.raw, '1.2.3-rc.1+build.5');
  t.equal(compareSemVer(parseSemVer('1.2.3+a')!, parseSemVer('1.2.3+b')!), 0, 'build metadata does not order');
  t.equal(highestMatch(['1.2.3+linux', '1.2.4-rc.1'], parseConstraint('1.2.3'))?.raw, '1.2.3+linux', 'an exact constraint ignores build metadata');
  t.equal(highestMatch(['1.2.3', '1.3.0-rc.1', '2.0.0-0'], parseConstraint('1'))?.raw, '1.2.3', 'a major constraint skips prereleases');
  t.equal(highestMatch(['0.0.0-bleeding'], parseConstraint('latest')), undefined, 'latest skips prereleases');
  for (const op of ['^1', '>=1.0.0', '1.x', '*', '1.2.x', '1 - 2']) t.equal(errorKind(failure(() => parseConstraint(op))), 'bad_constraint', op);
});

function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

t.test('publish targets need a full semver tag', async (t) => {
  t.same(parseImageTarget('127.0.0.1:5000/p/x:1.2.3'), { registry: '127.0.0.1:5000', repository: 'p/x', tag: '1.2.3' });
  t.same(parseImageTarget('group/proj:0.0.0-bleeding'), { registry: 'registry.gitlab.com', repository: 'group/proj', tag: '0.0.0-bleeding' });
  for (const bad of ['group/proj', 'group/proj:1', 'group/proj:latest']) t.throws(() => parseImageTarget(bad), { code: 'invalid_argument' }, bad);
});

t.test('WWW-Authenticate challenges parse', async (t) => {
  t.same(parseWwwAuthenticate('Bearer realm="https://gitlab.com/jwt/auth",service="container_registry",scope="repository:a/b:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://gitlab.com/jwt/auth', service: 'container_registry', scope: 'repository:a/b:pull' } },
  ]);
  t.same(parseWwwAuthenticate('Basic realm="test-realm"'), [{ scheme: 'basic', params: { realm: 'test-realm' } }]);
  t.same(parseWwwAuthenticate('Basic realm=x, Bearer realm="a,b", error="insufficient_scope"'), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'a,b', error: 'insufficient_scope' } },
  ]);
  t.same(parseWwwAuthenticate(''), []);
});
