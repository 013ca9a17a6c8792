// `runner run`: /metrics carries GitLab Runner's metric names and label sets, as dashboards built on upstream's
// metrics query them. The expected families come from the table in packages/manager/README.md (the one place they
// are written down, with where each was read); the test scrapes the real binary after a passing and a failing job.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { RUNNER_BIN, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const README = fileURLToPath(new URL('../../../packages/manager/README.md', import.meta.url));

interface Documented {
  type: string;
  labels: string[];
}

/** The README's metrics table: `| \`name\` | type | \`a\`, \`b\` (or —) | read in |`. */
function documentedFamilies(): Map<string, Documented> {
  const text = readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('## Metrics'), text.indexOf('\n## ', text.indexOf('## Metrics') + 1));
  const out = new Map<string, Documented>();
  for (const line of section.split('\n')) {
    const m = /^\| `([a-z_]+)` \| (gauge|counter|histogram) \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const labels = m[3]!.trim() === '—' ? [] : [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!);
    out.set(m[1]!, { type: m[2]!, labels: labels.sort() });
  }
  return out;
}

interface Scraped {
  type: string;
  /** Every distinct label set (sorted names, `le` left out), joined by commas. */
  labelSets: Set<string>;
  samples: { labels: Record<string, string>; value: number }[];
}

/** The families of a Prometheus 0.0.4 text, by `# TYPE`; histogram samples are folded into their family. */
function parseExposition(text: string): Map<string, Scraped> {
  const families = new Map<string, Scraped>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, labelSets: new Set(), samples: [] });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const name = m[1]!;
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    if (!family) throw new Error(`sample before its # TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    family.samples.push({ labels, value: Number(m[3]) });
    family.labelSets.add(
      Object.keys(labels)
        .filter((k) => k !== 'le')
        .sort()
        .join(','),
    );
  }
  return families;
}

t.test('/metrics of runner run: every documented family with its exact label set, and none undocumented', async (t) => {
  const documented = documentedFamilies();
  t.ok(documented.size >= 50, `the README table lists the families (${documented.size})`);
  const dir = tmpDir(t, { prefix: 'run-metrics-names' });
  const s = await startGitLabStandin({ traceUpdateIntervalSeconds: 1, longPollMs: 2_000 });
  t.teardown(() => s.close());
  const { token } = s.registerRunner();
  const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.94.1.0/28' }), ['--listen-address', '127.94.0.1:0']);
  const noGit = [{ key: 'GIT_STRATEGY', value: 'none', public: true }];
  const ok = s.enqueueJob({ variables: noGit, script: ['echo fine'] }).id;
  const bad = s.enqueueJob({ variables: noGit, script: ['exit 3'] }).id;
  await s.waitForJobState(ok, ['success', 'failed']);
  await s.waitForJobState(bad, ['success', 'failed']);
  t.same([s.jobs.get(ok)?.status, s.jobs.get(bad)?.status], ['success', 'failed']);
  t.match(await m.metricsAddress(), /^127\.94\.0\.1:\d+$/);

  const res = await fetch(`http://${await m.metricsAddress()}/metrics`);
  t.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  let scraped = parseExposition(await res.text());
  // The failed job's counters are in once the manager has finished it (its final update may still be on the way).
  await waitFor(async () => (scraped = parseExposition(await m.metrics())).get('gitlab_runner_failed_jobs_total')!.samples.length > 0, { what: 'the failed job counted' });

  const ours = [...scraped.keys()].filter((n) => /^(gitlab_runner|fleeting)_/.test(n));
  t.same(ours.filter((n) => !documented.has(n)), [], 'no gitlab_runner_*/fleeting_* family that the README does not list');
  for (const [name, doc] of documented) {
    const got = scraped.get(name);
    if (!got) {
      t.fail(`${name}: missing from /metrics`);
      continue;
    }
    t.equal(got.type, doc.type, `${name}: type`);
    t.same([...got.labelSets], [doc.labels.join(',')], `${name}: label set`);
  }

  const sample = (name: string, where: Record<string, string>): number | undefined =>
    scraped.get(name)?.samples.find((x) => Object.entries(where).every(([k, v]) => x.labels[k] === v))?.value;
  const version = /^Version:\s+(\S+)/m.exec(execFileSync(process.execPath, [RUNNER_BIN, '--version'], { encoding: 'utf8' }))![1]!;
  const info = scraped.get('gitlab_runner_version_info')!.samples[0]!.labels;
  t.match(info, { name: 'gitlab-runner', version, branch: 'HEAD', go_version: `node${process.versions.node}`, os: 'linux' }, 'version_info as upstream labels it');
  t.equal(sample('gitlab_runner_failed_jobs_total', { runner_name: 'e2e', failure_reason: 'script_failure', mode: 'traditional' }), 1);
  t.equal(sample('gitlab_runner_job_execution_mode_total', { mode: 'traditional', executor: 'instance' }), 2);
  t.ok((sample('gitlab_runner_api_request_retries_total', { path: '/api/v4/jobs/request', method: 'post' }) ?? 0) >= 2, 'request attempts by path');
  t.ok((sample('gitlab_runner_api_request_retries_total', { path: '/api/v4/jobs/{id}/trace', method: 'patch' }) ?? 0) >= 1, 'trace attempts with the job id as {id}');
  t.equal(sample('gitlab_runner_worker_processing_failures_total', { failure_type: 'job_failure' }), 1);
  t.equal(sample('gitlab_runner_jobs', { state: 'idle', stage: 'idle', executor_stage: 'idle' }), 0, 'the idle series of the runner');
  const states = scraped
    .get('fleeting_provisioner_instances')!
    .samples.map((x) => x.labels['state'])
    .sort();
  t.same(states, ['creating', 'deleting', 'requested', 'running'], 'provisioner states as upstream panels select them');
  t.ok((sample('fleeting_provisioner_instances', { state: 'running' }) ?? 0) >= 1, 'the instance that ran the jobs is running');
  m.child.kill('SIGQUIT');
  t.same(await m.exited, { code: 0, signal: null });
  await noInstancesLeft(dir);
});
