import t from 'tap';
import { parseConfig, removeRunnerBlocks, runnerBlock, runnerBlocks, TomlSyntaxError } from '../src/index.js';

// A config in pieces: removing entries must leave exactly the other pieces, byte for byte.
const HEAD = `# fleetrunner config: three runners
concurrent = 3   # jobs at once
check_interval = 3

`;

const R0 = `# the AWS runner: comments directly above a header go with it
[[runners]]
  name = "aws"
  url = "https://gitlab.example.com"
  token = "glrt-aaa"
  executor = "instance"
  # a comment inside the entry
  [runners.autoscaler]
    plugin = "aws"
    capacity_per_instance = 1
    max_instances = 5
    [runners.autoscaler.plugin_config]
      name = "asg"
    [[runners.autoscaler.policy]]
      idle_count = 1
# a trailing note about aws, not touching the next header

`;

const R1 = `[[runners]]
  name = "looks like [[runners]] inside"
  url = "https://gitlab.example.com"
  token = "glrt-bbb"
  executor = "instance"
  pre_build_script = """
[[runners]]
  name = "not a runner"
[runners.autoscaler]
"""
  post_build_script = '''
[session_server]
'''
  [runners.autoscaler]
    plugin = "googlecloud"   # [[runners]] in a comment
    capacity_per_instance = 2
    max_instances = 2
    [runners.autoscaler.connector_config]
      username = "'[[runners]]'"

`;

const R2 = `  # indented header, indented comment
  [[runners]]
  name = "azure"
  url = "https://gitlab.example.com"
  token = "glrt-ccc"
  executor = "instance"
  environment = [
    "A=[[runners]]",
    # a comment in an array
    "B=2",
  ]
  [runners.autoscaler]
    plugin = "azure"
    capacity_per_instance = 1
    max_instances = 1
`;

const FULL = HEAD + R0 + R1 + R2;

function names(text: string): string[] {
  const r = parseConfig(text, { file: 'config.toml', dir: '/etc/fleetrunner', env: {} });
  if (r.errors.length > 0) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.config?.runners.map((x) => x.name) ?? [];
}

t.test('the example is a valid config of three runners', async (t) => {
  t.same(names(FULL), ['aws', 'looks like [[runners]] inside', 'azure']);
});

t.test('each entry is found once, headers in strings, comments and arrays are not', async (t) => {
  const blocks = runnerBlocks(FULL);
  t.same(
    blocks.map((b) => ({ index: b.index, line: b.line, text: b.ranges.map((r) => FULL.slice(r.start, r.end)) })),
    [
      { index: 0, line: 6, text: [R0] },
      { index: 1, line: 22, text: [R1] },
      { index: 2, line: 43, text: [R2] },
    ],
  );
});

t.test('removing one runner of three leaves the others byte-identical', async (t) => {
  const cases: Array<{ remove: number[]; want: string; names: string[] }> = [
    { remove: [0], want: HEAD + R1 + R2, names: ['looks like [[runners]] inside', 'azure'] },
    { remove: [1], want: HEAD + R0 + R2, names: ['aws', 'azure'] },
    { remove: [2], want: HEAD + R0 + R1, names: ['aws', 'looks like [[runners]] inside'] },
    { remove: [0, 2], want: HEAD + R1, names: ['looks like [[runners]] inside'] },
    { remove: [0, 1, 2], want: HEAD, names: [] },
    { remove: [], want: FULL, names: ['aws', 'looks like [[runners]] inside', 'azure'] },
    { remove: [7], want: FULL, names: ['aws', 'looks like [[runners]] inside', 'azure'] },
  ];
  for (const c of cases) {
    t.test(`remove ${JSON.stringify(c.remove)}`, async (t) => {
      const out = removeRunnerBlocks(FULL, new Set(c.remove));
      t.equal(out, c.want);
      t.same(names(out), c.names);
    });
  }
});

t.test('a sub-table written after another top-level table still goes with its entry', async (t) => {
  const text = `[[runners]]
  name = "a"
[session_server]
  listen_address = "[::]:8093"
# autoscaler of runner a
[runners.autoscaler]
  plugin = "aws"
[[runners]]
  name = "b"
`;
  const [a, b] = runnerBlocks(text);
  t.same(a?.ranges.map((r) => text.slice(r.start, r.end)), ['[[runners]]\n  name = "a"\n', '# autoscaler of runner a\n[runners.autoscaler]\n  plugin = "aws"\n']);
  t.equal(b?.ranges.length, 1);
  t.equal(removeRunnerBlocks(text, new Set([0])), '[session_server]\n  listen_address = "[::]:8093"\n[[runners]]\n  name = "b"\n');
});

t.test('CRLF line ends and a byte-order mark keep their bytes', async (t) => {
  const text = '\uFEFFconcurrent = 1\r\n# one\r\n[[runners]]\r\n  name = "a"\r\n# two\r\n[[runners]]\r\n  name = "b"\r\n';
  t.equal(removeRunnerBlocks(text, new Set([0])), '\uFEFFconcurrent = 1\r\n# two\r\n[[runners]]\r\n  name = "b"\r\n');
  t.equal(removeRunnerBlocks(text, new Set([1])), '\uFEFFconcurrent = 1\r\n# one\r\n[[runners]]\r\n  name = "a"\r\n');
  t.same(
    runnerBlocks(text).map((b) => b.line),
    [3, 6],
  );
});

t.test('runners written as an inline array have no ranges; a text that is not TOML throws', async (t) => {
  t.same(runnerBlocks('runners = [{ name = "a" }]\n'), []);
  t.same(runnerBlocks('concurrent = 1\n'), []);
  t.throws(() => runnerBlocks('[[runners]]\nname = "a\n'), TomlSyntaxError);
  t.throws(() => removeRunnerBlocks('[[runners]]\n[[runners]\n', new Set([0])), TomlSyntaxError);
});

t.test('an entry from runnerBlock appended to a config is one more block', async (t) => {
  const block = runnerBlock(
    { name: 'new "one"', url: 'https://gitlab.example.com', token: 'glrt-new', executor: 'instance', 'odd key': true },
    { autoscaler: { plugin: 'aws', capacity_per_instance: 1, max_instances: 2 }, 'autoscaler.plugin_config': { name: 'x' } },
  );
  const text = `${FULL}\n${block}`;
  const blocks = runnerBlocks(text);
  t.equal(blocks.length, 4);
  const last = blocks[3]?.ranges.map((r) => text.slice(r.start, r.end)).join('');
  t.equal(last, block);
  t.same(names(text).at(-1), 'new "one"');
  t.equal(removeRunnerBlocks(text, new Set([3])), `${FULL}\n`);
});
