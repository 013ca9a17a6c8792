import t from 'tap';
import { diffConfig, parseConfig, type RunnerConfig } from '../src/index.js';

function runner(name: string, token: string, autoscaler: string, extra = ''): string {
  return `[[runners]]
name = "${name}"
url = "https://gitlab.example.com"
token = "${token}"
executor = "instance"
${extra}
[runners.autoscaler]
plugin = "aws"
capacity_per_instance = 1
${autoscaler}
`;
}

function load(src: string): RunnerConfig {
  const r = parseConfig(src, { env: {} });
  if (r.config === undefined || r.errors.length > 0) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const A = `concurrent = 4\n${runner('a', 'glrt-a', 'max_instances = 2\n[[runners.autoscaler.policy]]\nidle_count = 1')}${runner('b', 'glrt-b', '')}`;

t.test('which changes apply live and which need a restart', async (t) => {
  const cases: Array<{ name: string; b: string; live: string[]; restart: string[] }> = [
    { name: 'identical', b: A, live: [], restart: [] },
    { name: 'global keys are live', b: A.replace('concurrent = 4', 'concurrent = 8\nlog_level = "debug"'), live: ['concurrent', 'log_level'], restart: [] },
    { name: 'listen_address needs a restart', b: `listen_address = ":9252"\n${A}`, live: [], restart: ['listen_address'] },
    { name: 'policies are live', b: A.replace('idle_count = 1', 'idle_count = 3'), live: ['runners[0].autoscaler.policy'], restart: [] },
    { name: 'other autoscaler keys need a restart', b: A.replace('max_instances = 2', 'max_instances = 5\n[runners.autoscaler.connector_config]\nusername = "ec2-user"'), live: [], restart: ['runners[0].autoscaler.max_instances', 'runners[0].autoscaler.connector_config.username', 'runners[0].autoscaler.scale_throttle.burst'] },
    { name: 'runner keys are live', b: A.replace('name = "b"', 'name = "bee"\nlimit = 2\nfeature_flags = { FF_TIMESTAMPS = false }'), live: ['runners[1].name', 'runners[1].limit', 'runners[1].feature_flags.FF_TIMESTAMPS'], restart: [] },
    { name: 'reordered runners are no change', b: `concurrent = 4\n${runner('b', 'glrt-b', '')}${runner('a', 'glrt-a', 'max_instances = 2\n[[runners.autoscaler.policy]]\nidle_count = 1')}`, live: [], restart: [] },
    { name: 'added and removed runners are live', b: `concurrent = 4\n${runner('a', 'glrt-a', 'max_instances = 2\n[[runners.autoscaler.policy]]\nidle_count = 1')}${runner('c', 'glrt-c', '')}`, live: ['runners[1] (added)', 'runners[1] (removed)'], restart: [] },
    { name: 'plugin_config as a whole', b: A.replace('max_instances = 2', 'max_instances = 2\n[runners.autoscaler.plugin_config]\nname = "asg"'), live: [], restart: ['runners[0].autoscaler.plugin_config'] },
    { name: 'tls and state storage names', b: A.replace('name = "a"', 'name = "a"\ntls-ca-file = "/ca.pem"').replace('max_instances = 2', 'max_instances = 2\n[runners.autoscaler.state_storage]\nenabled = false'), live: ['runners[0].tls-ca-file'], restart: ['runners[0].autoscaler.state_storage.enabled'] },
  ];
  const a = load(A);
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const d = diffConfig(a, load(c.b));
      t.same({ live: [...d.live].sort(), restart: [...d.restart].sort() }, { live: [...c.live].sort(), restart: [...c.restart].sort() });
    });
  }
});

t.test('a runner with an id keeps its autoscaler across a token rotation', async (t) => {
  const withId = (token: string): string => runner('a', token, 'max_instances = 2').replace('executor', 'id = 42\nexecutor');
  const d = diffConfig(load(withId('glrt-old')), load(withId('glrt-new')));
  t.same(d, { live: ['runners[0].token'], restart: [] });
  const noId = diffConfig(load(runner('a', 'glrt-old', '')), load(runner('a', 'glrt-new', '')));
  t.same(noId, { live: ['runners[0] (added)', 'runners[0] (removed)'], restart: [] }, 'without an id the token is the key');
});
