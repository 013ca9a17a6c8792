import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN } from './run-harness.js';

const exec = promisify(execFile);

async function runner(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

t.test('register writes a [[runners]] entry, list shows it, verify checks it and --delete removes a revoked one', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-commands' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const config = join(dir, 'etc', 'config.toml');
  const a = s.registerRunner({ tokenExpiresAt: '2031-01-02T03:04:05Z' });
  const b = s.registerRunner();

  const reg = await runner(['register', '--config', config, '--url', s.url, '--token', a.token, '--name', 'alpha', '--plugin', 'local', '--max-instances', '3', '-n']);
  t.equal(reg.code, 0, reg.stderr);
  t.match(reg.stdout, /Runner registered successfully/);
  const text = readFileSync(config, 'utf8');
  t.match(text, /^concurrent = 1$/m, 'a new file gets the global defaults');
  t.match(text, new RegExp(`^  id = ${a.id}$`, 'm'), 'the id from verify is stored');
  t.match(text, /^ {2}token_expires_at = 2031-01-02T03:04:05Z$/m);
  t.match(text, /^ {2}\[runners\.autoscaler\]\n {4}plugin = "local"\n {4}capacity_per_instance = 1\n {4}max_instances = 3$/m);

  const legacy = await runner(['register', '--config', config, '--url', s.url, '--registration-token', s.registrationToken, '--name', 'beta', '--tag-list', 'x,y', '--plugin', 'local']);
  t.equal(legacy.code, 0, legacy.stderr);
  t.match(readFileSync(config, 'utf8'), /name = "beta"\n {2}url = "[^"]+"\n {2}id = \d+\n {2}token = "t1_/, 'the legacy registration stores the new token');
  const refused = await runner(['register', '--config', config, '--url', s.url, '--token', b.token, '--tag-list', 'x']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /--tag-list: set these on the runner in GitLab/);

  writeFileSync(config, readFileSync(config, 'utf8') + `\n[[runners]]\n  name = "gone"\n  url = "${s.url}"\n  token = "glrt-revoked-token-xyz"\n  executor = "instance"\n  [runners.autoscaler]\n    plugin = "local"\n`);
  const list = await runner(['list', '--config', config]);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^NAME\s+EXECUTOR\s+TOKEN\s+URL\s+PLUGIN$/m);
  t.match(list.stdout, new RegExp(`^alpha\\s+instance\\s+${a.token.slice(5, 14)}\\s+`, 'm'), 'tokens are shown short');
  t.notMatch(list.stdout, a.token, 'never the whole token');
  t.match(list.stdout, /^gone\s+instance\s+revoked-t/m);

  const verify = await runner(['verify', '--config', config]);
  t.equal(verify.code, 1, 'a revoked runner fails verify');
  t.match(verify.stdout, /is valid: alpha/);
  t.match(verify.stdout, /is valid: beta/);
  t.match(verify.stdout, /is removed: gone/);
  const del = await runner(['verify', '--config', config, '--delete']);
  t.equal(del.code, 0, del.stderr);
  t.match(del.stdout, /Deleted 1 invalid runner/);
  const after = readFileSync(config, 'utf8');
  t.notMatch(after, /name = "gone"/);
  t.match(after, /name = "alpha"/);
  t.match(after, /name = "beta"/);
  t.equal((await runner(['verify', '--config', config])).code, 0, 'every remaining runner is valid');
  t.equal((await runner(['config', 'validate', '--config', config])).code, 0, 'the edited file is still a valid config');
});

t.test('runner run refuses an invalid config with its diagnostics', async (t) => {
  const dir = tmpDir(t, { prefix: 'run-invalid' });
  const config = join(dir, 'config.toml');
  writeFileSync(config, 'concurrent = 0\n[[runners]]\nname = "x"\nurl = "http://127.0.0.1:1"\ntoken = "t"\nexecutor = "instance"\n');
  const r = await runner(['run', '--config', config]);
  t.equal(r.code, 1);
  t.match(r.stderr, /config\.toml:1: concurrent/);
  t.match(r.stderr, /autoscaler/);
});
