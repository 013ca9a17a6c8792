// Which jobs a pipeline gets, with what `when` and `allow_failure`, under rules, only/except, workflow and
// include rules — table-driven over small files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { loadPipeline, type GitInfo, type LoadPipelineOptions } from '../src/index.js';

const main: GitInfo = { sha: 'b'.repeat(40), branch: 'main', defaultBranch: 'main', message: 'm', author: 'a', timestamp: '2026-01-01T00:00:00Z', projectPath: 'g/p' };

function project(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

interface Case {
  name: string;
  yaml: string;
  files?: Record<string, string>;
  opts?: LoadPipelineOptions;
  /** `name when allowFailure` of every job in the pipeline, or the reason it does not run. */
  expect: string[] | { notRun: RegExp };
}

const cases: Case[] = [
  {
    name: 'the first matching rule decides; no match leaves the job out',
    yaml: `
a:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH == "dev"
    - if: $CI_COMMIT_BRANCH == "main"
      when: always
b:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH == "dev"
`,
    expect: ['a always false'],
  },
  {
    name: 'a rule without when takes the job-level when; a job-level manual may fail',
    yaml: `
a:
  script: x
  when: manual
  rules:
    - if: $CI_COMMIT_BRANCH
b:
  script: x
  rules:
    - when: manual
c:
  script: x
  rules:
    - when: manual
      allow_failure: true
`,
    expect: ['a manual true', 'b manual false', 'c manual true'],
  },
  {
    name: 'rules see global variables that refer to job variables, expanded',
    yaml: `
variables:
  TARGET: "$ENVIRONMENT-eu"
deploy:
  script: x
  variables:
    ENVIRONMENT: prod
  rules:
    - if: $TARGET == "prod-eu"
`,
    expect: ['deploy on_success false'],
  },
  {
    name: 'expand: false keeps a value from being expanded for rules',
    yaml: `
variables:
  LITERAL:
    value: "$HOME"
    expand: false
job:
  script: x
  rules:
    - if: $LITERAL == "$HOME"
`,
    expect: ['job on_success false'],
  },
  {
    name: 'pipeline variables win over YAML variables in rules',
    yaml: `
variables:
  DEPLOY: "no"
deploy:
  script: x
  rules:
    - if: $DEPLOY == "yes"
`,
    opts: { variables: { DEPLOY: 'yes' } },
    expect: ['deploy on_success false'],
  },
  {
    name: 'rules: exists with a variable in the path',
    yaml: `
variables:
  DIR: services/api
job:
  script: x
  rules:
    - exists: [$DIR/Dockerfile]
`,
    files: { 'services/api/Dockerfile': 'FROM scratch' },
    expect: ['job on_success false'],
  },
  {
    name: 'CI_PIPELINE_SOURCE selects jobs',
    yaml: `
nightly:
  script: x
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
push:
  script: x
  rules:
    - if: $CI_PIPELINE_SOURCE == "push"
`,
    opts: { pipelineSource: 'schedule' },
    expect: ['nightly on_success false'],
  },
  {
    name: 'only/except: refs, keywords, regexes and variables',
    yaml: `
default-only:
  script: x
only-main:
  script: x
  only: [main]
only-regex:
  script: x
  only: [/^ma/]
only-tags:
  script: x
  only: [tags]
only-schedules:
  script: x
  only: [schedules]
except-main:
  script: x
  except: [main]
only-refs-and-variables:
  script: x
  only:
    refs: [branches]
    variables: [$NOPE]
except-variables:
  script: x
  except:
    variables: [$CI_COMMIT_BRANCH == "main"]
`,
    expect: ['default-only on_success false', 'only-main on_success false', 'only-regex on_success false'],
  },
  {
    name: 'merge request pipelines leave out jobs without rules',
    yaml: `
plain:
  script: x
mr:
  script: x
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
`,
    opts: { pipelineSource: 'merge_request_event' },
    expect: ['mr on_success false'],
  },
  {
    name: 'workflow: no matching rule means no pipeline',
    yaml: `
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "web"
job:
  script: x
`,
    expect: { notRun: /no workflow: rules entry matched/ },
  },
  {
    name: 'workflow variables override global ones but not job ones',
    yaml: `
variables:
  LEVEL: global
workflow:
  rules:
    - when: always
      variables:
        LEVEL: workflow
a:
  script: x
  rules:
    - if: $LEVEL == "workflow"
b:
  script: x
  variables:
    LEVEL: job
  rules:
    - if: $LEVEL == "job"
`,
    expect: ['a on_success false', 'b on_success false'],
  },
  {
    name: 'include: rules and local globs',
    yaml: `
include:
  - local: ci/*.yml
  - local: extra/never.yml
    rules:
      - if: $CI_COMMIT_BRANCH == "dev"
own:
  script: x
`,
    files: {
      'ci/a.yml': 'from-a:\n  script: x\n',
      'ci/b.yml': 'from-b:\n  script: x\n',
      'extra/never.yml': 'never:\n  script: x\n',
    },
    expect: ['from-a on_success false', 'from-b on_success false', 'own on_success false'],
  },
  {
    name: 'the including file wins over included keys',
    yaml: `
include: ci/base.yml
job:
  variables:
    WHO: main
  rules:
    - if: $WHO == "main" && $KEPT == "base"
`,
    files: { 'ci/base.yml': 'job:\n  script: x\n  variables:\n    WHO: base\n    KEPT: base\n' },
    expect: ['job on_success false'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = project(t, { '.gitlab-ci.yml': c.yaml, ...c.files });
    const p = await loadPipeline(join(dir, '.gitlab-ci.yml'), { git: main, ...c.opts });
    if (Array.isArray(c.expect)) t.same(p.jobs.map((j) => `${j.name} ${j.when} ${String(j.allowFailure)}`), c.expect);
    else {
      t.equal(p.run, false);
      t.match(p.reason, c.expect.notRun);
    }
  });
}
