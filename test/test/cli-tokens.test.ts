// unregister, reset-token and the manager's automatic token rotation, through the `runner` binary and the GitLab
// stand-in. Rotation is driven by the expiry the stand-in hands out (no long sleeps).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { GitLabClient } from '@fleetrunner/gitlab';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const exec = promisify(execFile);
const NO_GIT = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];

async function runner(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [RUNNER_BIN, ...args], { env: { ...process.env, CONFIG_FILE: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function entry(name: string, url: string, token: string, extra = ''): string {
  return `\n# the ${name} runner\n[[runners]]\n  name = "${name}"\n  url = "${url}"\n  token = "${token}"\n  executor = "instance"\n${extra}  [runners.autoscaler]\n    plugin = "local"\n`;
}

t.test('unregister by --name, by --url/--token and --all-runners: GitLab forgets them, the file loses them', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-unregister' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const a = s.registerRunner();
  const b = s.registerRunner({ token: 'legacy-token-bbbbbbbbbb' });
  const c = s.registerRunner();
  const config = join(dir, 'config.toml');
  writeFileSync(config, `concurrent = 2\n${entry('alpha', s.url, a.token)}${entry('beta', s.url, b.token)}${entry('gamma', s.url, c.token)}`);
  // The manager entry exists once the runner was verified with this host's system id.
  t.equal((await runner(['verify', '--config', config])).code, 0);
  t.equal(s.runnerById(a.id)?.managers.size, 1);

  const byName = await runner(['unregister', '--config', config, '--name', 'alpha']);
  t.equal(byName.code, 0, byName.stderr);
  t.match(byName.stdout, /Unregistering runner from GitLab succeeded: alpha/);
  t.equal(s.runnerById(a.id)?.managers.size, 0, 'a glrt- token removes this manager (DELETE runners/managers)');
  let text = readFileSync(config, 'utf8');
  t.notMatch(text, /alpha/, 'the entry and its comment are gone');
  t.match(text, /^concurrent = 2\n/, 'the rest of the file is kept');

  const byCreds = await runner(['unregister', '--config', config, '--url', s.url, '--token', b.token]);
  t.equal(byCreds.code, 0, byCreds.stderr);
  t.equal(s.runnerById(b.id), undefined, 'a legacy token deletes the runner (DELETE runners)');
  text = readFileSync(config, 'utf8');
  t.notMatch(text, /beta/);
  t.match(text, /gamma/);

  const missing = await runner(['unregister', '--config', config, '--name', 'nope']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /no runner in .*config\.toml is named "nope"/);
  const both = await runner(['unregister', '--config', config, '--name', 'gamma', '--all-runners']);
  t.equal(both.code, 1);
  t.match(both.stderr, /give one of --name, --url with --token, or --all-runners/);

  // gamma's token is reset elsewhere: GitLab refuses the one in the file, and the entry stays.
  await new GitLabClient({ url: s.url, token: c.token }).resetToken();
  const refused = await runner(['unregister', '--config', config, '--all-runners']);
  t.equal(refused.code, 1, 'GitLab refused');
  t.match(refused.stderr, /Unregistering runner from GitLab failed: gamma/);
  t.match(readFileSync(config, 'utf8'), /gamma/, 'a runner GitLab refused stays in the file');
});

t.test('reset-token: a new token, its obtained and expiry times are written; the old token stops working', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-reset' });
  const s = await startGitLabStandin({ longPollMs: 0 });
  t.teardown(() => s.close());
  const a = s.registerRunner({ tokenExpiresAt: '2030-01-01T00:00:00Z', tokenLifetimeS: 7200 });
  const b = s.registerRunner();
  const config = join(dir, 'config.toml');
  const before = `concurrent = 2\n${entry('alpha', s.url, a.token, `  id = ${a.id}\n  token_expires_at = 2030-01-01T00:00:00Z\n  limit = 3\n`)}${entry('beta', s.url, b.token)}`;
  writeFileSync(config, before);
  const r = await runner(['reset-token', '--config', config, '--url', s.url, '--id', String(a.id)]);
  t.equal(r.code, 0, r.stderr);
  const now = s.runnerById(a.id)!;
  t.not(now.token, a.token, 'GitLab has a new token');
  const text = readFileSync(config, 'utf8');
  t.match(text, new RegExp(`^  token = "${now.token}"$`, 'm'), 'the new token is in the file');
  t.match(text, new RegExp(`^  token_expires_at = ${now.tokenExpiresAt}$`, 'm'), 'with the expiry GitLab gave it');
  t.match(text, /^ {2}token_obtained_at = \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m, 'and when it was obtained');
  t.match(text, /^ {2}limit = 3$/m, 'other keys stay');
  t.equal(text.replace(/^ {2}token(_obtained_at|_expires_at)? = .*\n/gm, ''), before.replace(/^ {2}token(_obtained_at|_expires_at)? = .*\n/gm, ''), 'nothing else changed');
  await t.rejects(new GitLabClient({ url: s.url, token: a.token }).verifyRunner(), /forbidden/, 'the old token is refused');

  const byName = await runner(['reset-token', '--config', config, '--name', 'beta']);
  t.equal(byName.code, 0, byName.stderr);
  t.match(readFileSync(config, 'utf8'), new RegExp(`token = "${s.runnerById(b.id)!.token}"`));
  const bad = await runner(['reset-token', '--config', config, '--url', s.url, '--id', 'x1']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--id: expected the runner's numeric id, got "x1"/);
});

t.test('the manager rotates a glrt- token at 75 % of its lifetime, saves config.toml and keeps taking jobs', async (t) => {
  const dir = tmpDir(t, { prefix: 'cli-rotate' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 2_000 });
  t.teardown(() => s.close());
  // Obtained 10 minutes ago, expiring in 2: past 75 % of its lifetime, so it is due now. The reset token lives an hour.
  const obtained = new Date(Date.now() - 600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const expires = new Date(Date.now() + 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { id, token } = s.registerRunner({ tokenExpiresAt: expires, tokenLifetimeS: 3600 });
  const config = writeRunConfig({
    dir,
    url: s.url,
    token,
    subnet: '127.95.1.0/24',
    runnerExtra: `id = ${id}\ntoken_obtained_at = ${obtained}\ntoken_expires_at = ${expires}\n`,
  });
  const m = startManager(t, config);
  const rotated = await m.waitForLog((e) => e.msg === 'runner token rotated; config saved', 'the token rotation');
  const now = s.runnerById(id)!;
  t.equal(s.runnerById(id)?.tokenResets, 1, 'one reset');
  t.not(now.token, token);
  t.equal(rotated.new_token, now.token.slice(5, 14), 'the log names the new token short');
  const text = readFileSync(config, 'utf8');
  t.match(text, new RegExp(`^token = "${now.token}"$`, 'm'), 'config.toml holds the new token');
  t.match(text, new RegExp(`^token_expires_at = ${now.tokenExpiresAt}$`, 'm'));
  t.notMatch(text, token, 'the old token is gone from the file');
  t.notOk(m.other.some((l) => l.includes(now.token)) || m.log.some((e) => JSON.stringify(e).includes(now.token)), 'the new token is never logged whole');
  // Keeps serving: the next job is requested with the new token.
  const job = s.enqueueJob({ variables: NO_GIT, script: ['echo after rotation'] });
  await waitFor(() => s.jobs.get(job.id)?.status === 'success', { what: 'the job after the rotation to succeed', timeoutMs: 90_000 });
  t.equal(s.jobs.get(job.id)?.runnerToken, now.token, 'taken with the rotated token');
  t.notOk(m.log.some((e) => e.msg === 'reloading the config failed; keeping the running config'), 'the saved file loads');
  t.equal(s.runnerById(id)?.tokenResets, 1, 'the new token (an hour to live) is not reset again');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
