import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { VM_ISOLATION_NOTE, formatDiagnostics, loadConfig, type LoadResult } from '../src/index.js';

// Tests run from dist/test; the fixtures stay in the source tree.
const DOCS = fileURLToPath(new URL('../../test/fixtures/docs/', import.meta.url));

async function load(name: string): Promise<LoadResult> {
  return loadConfig(`${DOCS}${name}`, { env: {} });
}

t.test('every instance executor example of the GitLab docs loads without errors or warnings', async (t) => {
  const files = readdirSync(DOCS).filter((f) => f.startsWith('instance-') || f.startsWith('advanced-cache-') || f === 'advanced-policy-periods.toml');
  t.equal(files.length, 11, 'the 7 examples of docs/executors/instance.md, the policy and 3 cache examples');
  for (const f of files.sort()) {
    t.test(f, async (t) => {
      const r = await load(f);
      t.same(r.errors, [], formatDiagnostics(r));
      // The VM isolation examples load, and say what the instance image needs for them.
      const isolated = r.config?.runners.some((x) => x.autoscaler?.vmIsolation.enabled) ?? false;
      // The cache examples load, and say that a remote cache is not used (the cache lives on the manager).
      const cacheNote = f.startsWith('advanced-cache-') ? ['cache not honoured'] : [];
      t.same(
        r.warnings.map((w) =>
          w.message === VM_ISOLATION_NOTE ? 'vm_isolation note' : w.path === 'runners[0].cache' && w.message.startsWith('parsed but not honoured') ? 'cache not honoured' : formatDiagnostics(r),
        ),
        [...(isolated ? ['vm_isolation note'] : []), ...cacheNote],
        formatDiagnostics(r),
      );
      t.ok(r.config);
    });
  }
});

t.test('the fleeting docs examples load; only capacity_per_instance is pointed out', async (t) => {
  const files = readdirSync(DOCS).filter((f) => f.startsWith('fleeting-'));
  t.equal(files.length, 6);
  for (const f of files.sort()) {
    t.test(f, async (t) => {
      const r = await load(f);
      t.same(r.errors, []);
      t.same(
        r.warnings.map((w) => `${w.line}: ${w.path}: ${w.message}`),
        ['11: runners[0].autoscaler.capacity_per_instance: not set; using 1 job per instance'],
      );
      t.equal(r.config?.runners[0]?.executor, 'instance');
      t.match(r.config?.runners[0]?.autoscaler?.plugin, /^(fleeting-plugin-)?(aws|googlecloud|azure)(:latest)?$/);
    });
  }
});

t.test('Apple Silicon nesting example: every section is read', async (t) => {
  const r = await load('instance-aws-apple-silicon-nesting.toml');
  const runner = r.config?.runners[0];
  const a = runner?.autoscaler;
  t.equal(r.config?.concurrent, 8);
  t.same(runner?.instance, { allowedImages: ['*'], useCommonBuildDir: false });
  t.match(a, {
    plugin: 'aws',
    capacityPerInstance: 2,
    maxUseCount: 0,
    maxInstances: 4,
    pluginConfig: { name: 'mac2metal', region: 'us-west-2' },
    policies: [{ periods: ['* * * * *'], idleCount: 2, idleTimeMs: 86_400_000, preemptiveMode: true }],
    connectorConfig: { username: 'ec2-user', keyPath: 'macos-key.pem', timeoutMs: 3_600_000, protocol: 'ssh' },
    vmIsolation: {
      enabled: true,
      nestingHost: 'unix:///Users/ec2-user/Library/Application Support/nesting.sock',
      connectorConfig: { username: 'nested-vm-username', password: 'nested-vm-password', timeoutMs: 1_200_000 },
    },
    scaleThrottle: { limitPerSecond: 100, burst: 4 },
  });
});

t.test('Azure example: static credentials and external address', async (t) => {
  const r = await load('instance-azure-one-job-per-instance.toml');
  t.match(r.config?.runners[0], {
    shell: 'sh',
    autoscaler: {
      pluginConfig: { name: 'my-linux-scale-set', subscription_id: '9b3c4602-cde2-4089-bed8-889e5a3e7102', resource_group_name: 'my-resource-group' },
      connectorConfig: { username: 'runner', password: 'my-scale-set-static-password', useStaticCredentials: true, timeoutMs: 600_000, useExternalAddr: true },
      policies: [{ idleCount: 5, idleTimeMs: 1_200_000 }],
      maxUseCount: 1,
    },
  });
});

t.test('policy example: periods, names of days and the default period', async (t) => {
  const r = await load('advanced-policy-periods.toml');
  t.same(
    r.config?.runners[0]?.autoscaler?.policies.map((p) => [p.periods, p.idleCount, p.idleTimeMs, p.preemptiveMode]),
    [
      [['* * * * *'], 0, 0, false],
      [['* 8-15 * * mon-fri'], 1, 1_800_000, true],
    ],
  );
});

t.test('S3 cache example: PascalCase keys map to the cache config', async (t) => {
  const r = await load('advanced-cache-s3.toml');
  t.match(r.config?.runners[0]?.cache, {
    type: 's3',
    path: 'path/to/prefix',
    shared: false,
    s3: { serverAddress: 's3.amazonaws.com', bucketName: 'runners-cache', bucketLocation: 'eu-west-1', serverSideEncryption: 'KMS', serverSideEncryptionKeyId: 'alias/my-key', dualStack: true },
  });
});

t.test('global section example: valid, with nothing to run', async (t) => {
  const r = await load('advanced-global.toml');
  t.same(r.errors, []);
  t.equal(r.config?.concurrent, 4);
  t.equal(r.config?.logLevel, 'warn', '"warning" is logrus for warn');
  t.same(r.warnings.map((w) => `${w.line}: ${w.path}: ${w.message}`), ['1: runners: no [[runners]] entries; nothing will request jobs']);
});

t.test('the development docs example is not valid TOML as published, and the error says where', async (t) => {
  const r = await load('development-use-the-plugin.toml');
  t.equal(r.config, undefined);
  t.same(r.errors.map((e) => [e.line, e.column, e.message]), [[14, 65, 'TOML syntax error: expected a newline after a value, found "."']]);
});
