import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { RunnerError } from '@fleetrunner/common';
import { loadPipeline, type PipelineProblem } from '../src/index.js';

function project(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-errors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

/** Loads and returns the errors as `line: path: message` (file names relative to the project). */
async function errorsOf(t: Test, yaml: string, extra: Record<string, string> = {}): Promise<string[]> {
  const dir = project(t, { '.gitlab-ci.yml': yaml.replace(/^\n/, ''), ...extra });
  try {
    await loadPipeline(join(dir, '.gitlab-ci.yml'), { git: false });
  } catch (err) {
    if (!(err instanceof RunnerError)) throw err;
    t.equal(err.code, 'invalid_argument');
    const errors = err.details['errors'] as PipelineProblem[];
    return errors.map((e) => `${e.file === join(dir, '.gitlab-ci.yml') ? '' : `${e.file}:`}${e.line}: ${e.path === '' ? '' : `${e.path}: `}${e.message}`);
  }
  return [];
}

const cases: Array<[name: string, yaml: string, expected: string[]]> = [
  [
    'artifacts paths must be a list',
    `
stages: [build]
build:
  stage: build
  script: make
  artifacts:
    paths: dist/
`,
    ['6: build.artifacts.paths: expected a list of strings, got string'],
  ],
  ['invalid YAML', 'job:\n  script: [a\n  stage: b\n', ['3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']],
  [
    'undefined stage',
    `
job:
  stage: lint
  script: echo
`,
    ['2: job.stage: stage "lint" is not defined; stages are .pre, build, test, deploy, .post'],
  ],
  ['job without script', 'job:\n  stage: test\n', ['1: job: a job needs a script: (or trigger:) keyword']],
  ['empty script', 'job:\n  script: []\n', ['2: job.script: script cannot be empty']],
  ['a job that is not a mapping', 'job: echo hi\n', ['1: job: expected a job (a mapping with a script:) or a global keyword']],
  ['extends an unknown job', 'job:\n  extends: .nope\n  script: x\n', ['2: job.extends: unknown job ".nope" (extends names a job or hidden job)']],
  [
    'extends cycle',
    `
.a:
  extends: .b
.b:
  extends: .a
job:
  extends: .a
  script: x
`,
    ['4: .b.extends: circular dependency detected in extends: .a → .b → .a'],
  ],
  [
    'needs an unknown job',
    `
job:
  script: x
  needs: [buidl]
`,
    ['3: job.needs[0]: unknown job "buidl"'],
  ],
  [
    'needs an excluded job',
    `
build:
  stage: build
  script: x
  rules:
    - if: $NEVER_SET
test:
  script: x
  needs: [build]
`,
    ['8: test.needs[0]: "test" needs "build", but it is not in the pipeline (no rules matched); mark the need optional: true if that is expected'],
  ],
  [
    'needs a job of a later stage',
    `
build:
  stage: build
  script: x
  needs: [deploy]
deploy:
  stage: deploy
  script: x
`,
    ['4: build.needs[0]: "deploy" is in stage deploy, after stage build; needs can name jobs of the same or earlier stages'],
  ],
  [
    'needs cycle',
    `
a:
  script: x
  needs: [b]
b:
  script: x
  needs: [a]
`,
    ['3: a.needs: needs cycle: a → b → a'],
  ],
  ['needs a hidden job', 'job:\n  script: x\n  needs: [.h]\n.h:\n  script: x\n', ['3: job.needs[0]: ".h" is a hidden job; hidden jobs do not run']],
  [
    'rules if syntax error',
    `
job:
  script: x
  rules:
    - if: $A = "x"
`,
    ['4: job.rules[0].if: invalid expression syntax in "$A = \\"x\\"": unknown token at "= \\"x\\""'],
  ],
  ['invalid timeout', 'job:\n  script: x\n  timeout: soon\n', ['3: job.timeout: invalid duration "soon" (examples: \'1h 30m\', \'3 hours 30 minutes\', 3600)']],
  ['parallel out of range', 'job:\n  script: x\n  parallel: 201\n', ['3: job.parallel: expected an integer from 1 to 200, got 201']],
  [
    'matrix too large',
    `
job:
  script: x
  parallel:
    matrix:
      - A: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        B: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
`,
    ['4: job.parallel.matrix: 225 combinations; at most 200 are allowed'],
  ],
  [
    'bad variables',
    `
variables:
  OK: "1"
  BAD-NAME: x
  FLAG: true
job:
  script: x
`,
    ['3: variables.BAD-NAME: variable names can use only letters, digits and _', "4: variables.FLAG: expected a string, got boolean; quote it: 'true'"],
  ],
  ['cache key with a slash', 'job:\n  script: x\n  cache:\n    key: a/b\n    paths: [x]\n', ['4: job.cache.key: cache key cannot contain "/" or "%2F"']],
  [
    'dependencies on a job of the same stage',
    `
a:
  script: x
b:
  script: x
  dependencies: [a]
`,
    ['5: b.dependencies: "a" is not in an earlier stage than test'],
  ],
  [
    'dependencies not among needs',
    `
a:
  stage: build
  script: x
c:
  stage: build
  script: x
b:
  script: x
  needs: [a]
  dependencies: [c]
`,
    ['10: b.dependencies: "c" must also be listed in needs'],
  ],
  ['a missing !reference', 'job:\n  script:\n    - !reference [.nope, script]\n', ['3: !reference [.nope, script] could not be found']],
  ['rules with only', 'job:\n  script: x\n  only: [main]\n  rules:\n    - when: always\n', ['4: job.rules: rules cannot be used together with only or except']],
  ['job-level when: never', 'job:\n  script: x\n  when: never\n', ['3: job.when: expected one of on_success, on_failure, always, manual, delayed, got "never"']],
  ['a missing local include', 'include: ci/nope.yml\njob:\n  script: x\n', ['1: include: local file "ci/nope.yml" does not exist']],
  ['a remote include', 'include:\n  - remote: https://example.com/ci.yml\njob:\n  script: x\n', ['2: include[0].remote: remote includes are not supported by a local run']],
  [
    'errors in an included file name that file',
    'include: ci/jobs.yml\n',
    ['ci/jobs.yml:3: inc.retry: expected an integer from 0 to 2, got 5'],
  ],
  [
    'an error in default is reported once, at default',
    `
default:
  image:
    entrypoint: [sh]
a:
  script: x
b:
  script: x
`,
    ['2: default.image: image needs a name'],
  ],
  [
    'every error in one report, in line order',
    `
a:
  script: x
  timeout: never ever
b:
  stage: nope
  script: x
`,
    ['3: a.timeout: invalid duration "never ever" (examples: \'1h 30m\', \'3 hours 30 minutes\', 3600)', '5: b.stage: stage "nope" is not defined; stages are .pre, build, test, deploy, .post'],
  ],
];

for (const [name, yaml, expected] of cases) {
  t.test(name, async (t) => {
    const extra: Record<string, string> = name.startsWith('errors in an included file') ? { 'ci/jobs.yml': 'inc:\n  script: x\n  retry: 5\n' } : {};
    t.same(await errorsOf(t, yaml, extra), expected);
  });
}

t.test('the message names file, line and key path', async (t) => {
  const dir = project(t, { '.gitlab-ci.yml': 'stages: [build]\nbuild:\n  stage: build\n  script: make\n  artifacts:\n    paths: dist/\n' });
  const file = join(dir, '.gitlab-ci.yml');
  await t.rejects(loadPipeline(file, { git: false }), {
    code: 'invalid_argument',
    message: `loading ${file}: ${file}:6: build.artifacts.paths: expected a list of strings, got string`,
  });
});

t.test('a missing file is not_found', async (t) => {
  await t.rejects(loadPipeline(join(tmpdir(), 'no-such-dir', '.gitlab-ci.yml'), { git: false }), { code: 'not_found' });
});
