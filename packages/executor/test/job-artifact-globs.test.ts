import t from 'tap';
import { payload, run, startInstance, step, stores, type TestInstance } from './support/job-harness.js';

// Artifact and cache paths are doublestar globs with braces (GitLab Runner's doublestar): `out/{a,b}/x.txt`
// selects out/a/x.txt and out/b/x.txt. Through a real sshd, the instance's find and tar.

if (process.getuid?.() !== 0) {
  t.test('artifact globs with braces', { skip: 'needs root (a /bin/sh user for a real sshd)' }, async () => {});
} else {
  let inst: TestInstance;
  const st = stores();
  t.before(async () => {
    inst = await startInstance('inst-globs', '127.87.0.11');
  });
  t.teardown(async () => {
    await inst?.stop();
    st.cleanup();
  });

  // A project of its own: job-run.test.ts uses the same /bin/sh user's builds dir for group/project, in parallel.
  const jobInfo = { name: 'globs', stage: 'test', project_id: 8, project_full_path: 'group/globs', project_name: 'globs' };
  const gitInfo = { repo_url: 'https://gitlab-ci-token:jobtoken@gitlab.example.com/group/globs.git', ref: 'main', sha: '0'.repeat(40), before_sha: '0'.repeat(40), ref_type: 'branch', refspecs: [], depth: 0 };

  t.test('out/{a,b}/x.txt artifacts and {vendor,lib}/ caches are collected; out/c is not', async (t) => {
    const producer = payload({
      job_info: jobInfo,
      git_info: gitInfo,
      steps: [step(['for d in a b c; do mkdir -p out/$d && echo $d > out/$d/x.txt; done', 'mkdir -p vendor lib other && echo v > vendor/v.txt && echo l > lib/l.txt && echo o > other/o.txt'])],
      artifacts: [{ name: 'out', paths: ['out/{a,b}/x.txt'], when: 'on_success', artifact_type: 'archive', artifact_format: 'zip' }],
      cache: [{ key: 'braces-v1', paths: ['{vendor,lib}/'], policy: 'pull-push', when: 'on_success' }],
    });
    const first = await run(inst, st, producer);
    t.equal(first.status, 'success', first.log.text);
    t.notMatch(first.log.text, /no matching files/i, 'the brace pattern matched files');
    const consumer = payload({
      job_info: jobInfo,
      git_info: gitInfo,
      variables: [{ key: 'GIT_STRATEGY', value: 'empty', public: true }],
      steps: [step(['echo "found: $(find out vendor lib other -type f 2>/dev/null | sort | tr "\\n" " ")"'])],
      dependencies: [{ id: producer.id, token: 'x', name: 'globs', artifacts_file: { filename: 'artifacts.zip', size: 1 } }],
      cache: [{ key: 'braces-v1', paths: ['{vendor,lib}/'], policy: 'pull', when: 'on_success' }],
    });
    const second = await run(inst, st, consumer);
    t.equal(second.status, 'success', second.log.text);
    t.match(second.log.text, /^found: lib\/l\.txt out\/a\/x\.txt out\/b\/x\.txt vendor\/v\.txt $/m, 'both brace alternatives, nothing else');
  });
}
