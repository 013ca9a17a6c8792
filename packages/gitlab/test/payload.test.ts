import t from 'tap';
import { parseJobPayload, JobPayloadError } from '../src/index.js';

/** A payload shaped like GitLab Runner's network/gitlab_test.go fixture. */
function fullPayload(): Record<string, unknown> {
  return {
    id: 10,
    token: 'glcbt-job-token',
    allow_git_fetch: false,
    job_info: { name: 'test-job', stage: 'test', project_id: 123, project_name: 'test-project', project_full_path: 'g/test-project', scoped_user_id: 7, time_in_queue_seconds: 1.5, project_jobs_running_on_instance_runners_count: '+Inf' },
    git_info: { repo_url: 'https://gitlab-ci-token:testTokenHere1234@gitlab.example.com/test/test-project.git', ref: 'main', sha: 'abcdef', before_sha: 'ghjkl', ref_type: 'branch', refspecs: ['+refs/heads/*:refs/origin/heads/*'], depth: 0, protected: null },
    runner_info: { timeout: 3600 },
    inputs: [{ key: 'env', value: { type: 'string', content: 'prod', sensitive: false } }],
    variables: [
      { key: 'CI_REF_NAME', value: 'main', public: true, file: true, raw: true },
      { key: 'SECRET', value: 's3cr3t-value', public: false, masked: true },
    ],
    steps: [
      { name: 'script', script: ['date', 'ls -ls'], timeout: 3600, when: 'on_success', allow_failure: false },
      { name: 'after_script', script: ['ls -ls'], timeout: 3600, when: 'always', allow_failure: true },
    ],
    image: { name: 'alpine:3.20', entrypoint: ['/bin/sh'], executor_opts: { docker: { platform: 'amd64', user: 1000 } } },
    services: [{ name: 'postgres:16', alias: 'db,database', ports: [{ number: 5432, protocol: 'tcp', name: 'pg' }] }],
    artifacts: [{ name: 'artifact.zip', untracked: false, paths: ['out/*'], when: 'always', artifact_type: 'archive', artifact_format: 'zip', expire_in: '1 day' }, { paths: ['junit.xml'], artifact_type: 'junit', artifact_format: 'gzip', expire_in: null }],
    cache: [{ key: 'key', untracked: false, policy: 'pull', paths: ['vendor/'], when: 'on_success', fallback_keys: ['main'] }],
    credentials: [{ type: 'registry', url: 'registry.example.com', username: 'gitlab-ci-token', password: 'pw' }],
    dependencies: [{ id: 9, token: 'glcbt-dep', name: 'build', artifacts_file: { filename: 'artifacts.zip', size: 1024 } }, { id: 8, token: 'glcbt-dep2', name: 'lint', artifacts_file: { filename: '', size: 0 } }],
    features: { trace_sections: true, token_mask_prefixes: ['ghp_'], failure_reasons: ['script_failure', 'image_pull_failure'], tracing: { otel_endpoints: [] } },
    secrets: { DB_PASSWORD: { vault: { server: { url: 'https://vault' }, engine: { name: 'kv-v2', path: 'kv' }, path: 'db', field: 'pw' }, file: false } },
    hooks: [{ name: 'pre_get_sources_script', script: ['echo pre'] }],
    policy_options: { execution_policy_job: true, policy_name: 'p', policy_variables_override_allowed: false },
  };
}

t.test('a complete payload converts to the domain form', async (t) => {
  const job = parseJobPayload(fullPayload());
  t.equal(job.id, 10);
  t.equal(job.jobInfo.projectFullPath, 'g/test-project');
  t.equal(job.jobInfo.scopedUserId, 7);
  t.equal(job.gitInfo.refType, 'branch');
  t.notOk('protected' in job.gitInfo, 'null reads as absent');
  t.equal(job.runnerInfo.timeoutSeconds, 3600);
  t.same(job.inputs, [{ key: 'env', type: 'string', content: 'prod', sensitive: false }]);
  t.same(job.variables[1], { key: 'SECRET', value: 's3cr3t-value', public: false, file: false, masked: true, raw: false });
  t.same(job.steps.map((s) => [s.name, s.when, s.allowFailure]), [['script', 'on_success', false], ['after_script', 'always', true]]);
  t.same(job.image?.executorOptions, { docker: { platform: 'amd64', user: '1000' } }, 'a numeric user reads as text');
  t.equal(job.services[0]?.ports[0]?.number, 5432);
  t.same(job.artifacts.map((a) => [a.type, a.format, a.when, a.expireIn]), [['archive', 'zip', 'always', '1 day'], ['junit', 'gzip', 'on_success', '']]);
  t.equal(job.cache[0]?.policy, 'pull');
  t.same(job.dependencies[0]?.artifactsFile, { filename: 'artifacts.zip', size: 1024 });
  t.notOk(job.dependencies[1]?.artifactsFile, 'a dependency without an archive has no artifactsFile');
  t.same(job.features, { traceSections: true, tokenMaskPrefixes: ['ghp_'], failureReasons: ['script_failure', 'image_pull_failure'] });
  t.equal(job.secrets['DB_PASSWORD']?.file, false);
  t.ok(job.secrets['DB_PASSWORD']?.providers['vault']);
  t.same(job.hooks, [{ name: 'pre_get_sources_script', script: ['echo pre'] }]);
  t.equal(job.policyOptions?.variableOverrideAllowed, false);
});

t.test('absent fields take zero values', async (t) => {
  const job = parseJobPayload({ id: 1, token: 'x' });
  t.same(job.steps, []);
  t.equal(job.gitInfo.repoUrl, '');
  t.equal(job.gitInfo.refType, '');
  t.notOk(job.image);
  t.same(job.features, { traceSections: false, tokenMaskPrefixes: [], failureReasons: [] });
});

t.test('the run keyword is decoded from its JSON string', async (t) => {
  const job = parseJobPayload({ id: 1, token: 'x', run: JSON.stringify([{ name: 'hello', script: 'echo hi' }]) });
  t.same(job.run, [{ name: 'hello', script: 'echo hi' }]);
});

t.test('malformed payloads fail naming the field, keeping the job to fail', async (t) => {
  const cases: { name: string; patch: Record<string, unknown>; field: string; keepsJob?: boolean }[] = [
    { name: 'id missing', patch: { id: undefined }, field: 'id', keepsJob: false },
    { name: 'id as text', patch: { id: '10' }, field: 'id', keepsJob: false },
    { name: 'token missing', patch: { token: '' }, field: 'token', keepsJob: false },
    { name: 'steps not an array', patch: { steps: 'echo' }, field: 'steps' },
    { name: 'a step without a name', patch: { steps: [{ script: ['x'] }] }, field: 'steps[0].name' },
    { name: 'a script line that is a number', patch: { steps: [{ name: 'script', script: ['ok', 5] }] }, field: 'steps[0].script[1]' },
    { name: 'an unknown when', patch: { steps: [{ name: 'script', when: 'sometimes' }] }, field: 'steps[0].when' },
    { name: 'a fractional timeout', patch: { steps: [{ name: 'script', timeout: 1.5 }] }, field: 'steps[0].timeout' },
    { name: 'a variable with a numeric value', patch: { variables: [{ key: 'A', value: 1 }] }, field: 'variables[0].value' },
    { name: 'a variable without a key', patch: { variables: [{ value: 'v' }] }, field: 'variables[0].key' },
    { name: 'git_info not an object', patch: { git_info: [] }, field: 'git_info' },
    { name: 'an unknown ref type', patch: { git_info: { ref_type: 'sha' } }, field: 'git_info.ref_type' },
    { name: 'a negative depth', patch: { git_info: { depth: -1 } }, field: 'git_info.depth' },
    { name: 'an unknown cache policy', patch: { cache: [{ policy: 'sometimes' }] }, field: 'cache[0].policy' },
    { name: 'an unknown artifact format', patch: { artifacts: [{ artifact_format: 'rar' }] }, field: 'artifacts[0].artifact_format' },
    { name: 'an unknown executor option', patch: { image: { name: 'a', executor_opts: { docker: { privileged: true } } } }, field: 'image.executor_opts.docker.privileged' },
    { name: 'an unknown executor', patch: { image: { name: 'a', executor_opts: { podman: {} } } }, field: 'image.executor_opts.podman' },
    { name: 'a dependency without a token', patch: { dependencies: [{ id: 3 }] }, field: 'dependencies[0].token' },
    { name: 'run that is not JSON', patch: { run: '[{' }, field: 'run' },
    { name: 'run together with script', patch: { run: '[]', steps: [{ name: 'script', script: ['x'] }] }, field: 'run' },
    { name: 'an input whose content contradicts its type', patch: { inputs: [{ key: 'n', value: { type: 'number', content: 'x' } }] }, field: 'inputs[0].value.content' },
    { name: 'secrets as a list', patch: { secrets: [] }, field: 'secrets' },
    { name: 'failure_reasons of numbers', patch: { features: { failure_reasons: [1] } }, field: 'features.failure_reasons[0]' },
  ];
  for (const c of cases) {
    const body = { ...fullPayload(), ...c.patch };
    let err: unknown;
    try {
      parseJobPayload(body);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof JobPayloadError, `${c.name}: JobPayloadError`);
    if (!(err instanceof JobPayloadError)) continue;
    t.equal(err.field, c.field, `${c.name}: names ${c.field}`);
    t.equal(err.code, 'invalid_argument');
    t.match(err.message, `invalid job payload: ${c.field}: `, `${c.name}: message names the field`);
    if (c.keepsJob === false) t.equal(err.job, undefined, `${c.name}: no job to fail`);
    else t.same(err.job, { id: 10, token: 'glcbt-job-token' }, `${c.name}: carries the job to fail`);
    t.notOk(JSON.stringify(err).includes('glcbt-job-token'), `${c.name}: the token is not serialised with the error`);
  }
  t.throws(() => parseJobPayload('not an object'), { name: 'JobPayloadError', message: /\(body\)/ });
});
