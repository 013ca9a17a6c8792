// `runner run` against a GitLab served over HTTPS with a private CA made in the test: trusted through `tls-ca-file`,
// through GitLab Runner's certificate directory (`<config dir>/certs/<host>.crt`) alone, and refused, naming the host
// and the certificate problem, without either. The job gets the CA chain as CI_SERVER_TLS_CA_FILE, and git on the
// instance clones from the HTTPS GitLab with it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { tmpDir, waitFor } from '@fleetrunner/testing';
import { startGitLabStandin } from '../src/index.js';
import { makeRepo, noInstancesLeft, startManager, writeRunConfig } from './run-harness.js';

const HOST = '127.97.0.1';

/** A CA (EC P-256, 2 days) and a server certificate for `host` signed by it, made with the system's openssl. */
function makeCa(dir: string, host: string): { caFile: string; caPem: string; cert: string; key: string } {
  const f = (n: string): string => join(dir, n);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(f('server.ext'), `subjectAltName=IP:${host}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=run-tls test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${host}`, '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem');
  return { caFile: f('ca.pem'), caPem: readFileSync(f('ca.pem'), 'utf8'), cert: readFileSync(f('server.pem'), 'utf8'), key: readFileSync(f('server.key'), 'utf8') };
}

t.test('runner run against an HTTPS GitLab with a private CA', async (t) => {
  const root = tmpDir(t, { prefix: 'run-tls' });
  mkdirSync(join(root, 'ca'));
  const ca = makeCa(join(root, 'ca'), HOST);
  const s = await startGitLabStandin({ host: HOST, tls: { cert: ca.cert, key: ca.key }, traceUpdateIntervalSeconds: 1, longPollMs: 2_000 });
  t.teardown(() => s.close());
  t.match(s.url, /^https:\/\/127\.97\.0\.1:\d+$/);
  s.addGitRepo('group/project', makeRepo(join(root, 'repo')));
  // No CA from the environment: only what the runner is configured with counts.
  delete process.env['NODE_EXTRA_CA_CERTS'];

  /** Runs one job that clones over HTTPS and checks CI_SERVER_TLS_CA_FILE; resolves to its trace. */
  const runJob = async (t: Test, dir: string, subnet: string, runnerExtra: string): Promise<string> => {
    const { token } = s.registerRunner();
    const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet, concurrent: 1, capacity: 1, maxInstances: 1, runnerExtra }));
    const job = s.enqueueJob({
      repo: 'group/project',
      variables: [{ key: 'FF_TIMESTAMPS', value: 'false', public: true }],
      script: ['cat README.md', 'echo "ca file: $CI_SERVER_TLS_CA_FILE"', 'cmp "$CI_SERVER_TLS_CA_FILE" ' + ca.caFile + ' && echo same-ca-chain'],
    });
    await s.waitForJobState(job.id, ['success', 'failed']);
    const trace = s.traceOf(job.id);
    if (!t.equal(s.jobs.get(job.id)?.status, 'success', 'the job succeeds over HTTPS')) t.comment(trace);
    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null });
    await noInstancesLeft(dir);
    return trace;
  };

  await t.test('tls-ca-file: requests and git trust the private CA; the job gets CI_SERVER_TLS_CA_FILE', async (t) => {
    const dir = join(root, 'with-file');
    mkdirSync(dir);
    const trace = await runJob(t, dir, '127.97.1.0/28', `tls-ca-file = "${ca.caFile}"`);
    t.match(trace, /^# project$/m, 'git cloned the repository over HTTPS (README.md printed)');
    t.match(trace, /^ca file: \/\S+$/m, 'CI_SERVER_TLS_CA_FILE is a file path');
    t.match(trace, /^same-ca-chain$/m, 'holding the CA chain');
  });

  await t.test('<config dir>/certs/<host>.crt alone is found and used', async (t) => {
    const dir = join(root, 'cert-dir');
    mkdirSync(join(dir, 'certs'), { recursive: true });
    writeFileSync(join(dir, 'certs', `${HOST}.crt`), ca.caPem);
    const trace = await runJob(t, dir, '127.97.2.0/28', '');
    t.match(trace, /^# project$/m);
    t.match(trace, /^same-ca-chain$/m, 'the discovered CA is the job CA chain too');
  });

  await t.test('without either, requests fail naming the host and the untrusted certificate', async (t) => {
    const dir = join(root, 'none');
    mkdirSync(dir);
    const { token } = s.registerRunner();
    const m = startManager(t, writeRunConfig({ dir, url: s.url, token, subnet: '127.97.3.0/28', concurrent: 1, capacity: 1, maxInstances: 1 }));
    const job = s.enqueueJob({ variables: [{ key: 'GIT_STRATEGY', value: 'none', public: true }], script: ['echo never'] });
    const told = (): string | undefined =>
      m.log.map((e) => JSON.stringify(e)).find((l) => l.includes(`TLS certificate of ${HOST} is not trusted`));
    await waitFor(() => told() !== undefined, { what: 'a log line about the untrusted certificate', timeoutMs: 60_000 });
    t.match(told(), /https:\/\/127\.97\.0\.1:\d+\/api\/v4\/[^"]*: [^"]*certificate[^"]*\(\w+\): the TLS certificate of 127\.97\.0\.1 is not trusted — set tls-ca-file, or put its CA in <config dir>\/certs\/127\.97\.0\.1\.crt/);
    t.equal(s.jobs.get(job.id)?.status, 'pending', 'no job was taken');
    m.child.kill('SIGQUIT');
    t.same(await m.exited, { code: 0, signal: null });
    await noInstancesLeft(dir);
  });
});
