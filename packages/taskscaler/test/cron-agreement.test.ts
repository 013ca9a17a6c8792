import t from 'tap';
import { parseConfig, parseCron } from '@fleetrunner/config';
import { PolicySchedule, compilePolicies } from '../src/index.js';
import { Prng } from './support/prng.js';

// Property: `runner config validate` (parseConfig) and the taskscaler (compilePolicies, then PolicySchedule)
// agree on every random period list and time zone: both accept it or both reject it, and where accepted the
// policy is active at exactly the instants where the config's own reading of the periods says so. Seeded and
// deterministic; a failure names its seed (re-run one with CRON_SEED=<seed>).

// Mostly tokens every field takes, some that only some fields take, and a little noise.
const COMMON = ['*', '?', '1', '5', '*/15', '1-5', '2-4/2', '1/5', '1,2,3', '*/7'];
const SOME = ['0', '7', '13', '23', '31', '59', '60', 'MON-FRI', 'sun', 'jan', 'DEC', 'L', '15W', '5#2', '0-7', '8'];
const NOISE = ['foo', '*/0', '5-1', '1-2-3', '1/2/3', '-1', '**', ',', '1,', '?/2'];
const MACROS = ['@daily', '@hourly', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@always', '@5minutes',
  '@15minutes', '@reboot', '@everysecond', '@DAILY'];
const ZONES = [undefined, '', 'UTC', 'Europe/Berlin', 'Asia/Kathmandu', 'America/New_York', 'Mars/Olympus', '+01:00', 'Etc/GMT+5'];

function period(r: Prng): string {
  if (r.chance(0.15)) return r.pick(MACROS);
  const n = r.chance(0.85) ? 5 : r.pick([0, 1, 4, 6, 7]);
  const token = (): string => (r.chance(0.75) ? r.pick(COMMON) : r.chance(0.8) ? r.pick(SOME) : r.pick(NOISE));
  return Array.from({ length: n }, token).join(r.chance(0.9) ? ' ' : '  ');
}

function toml(periods: readonly string[], timezone: string | undefined): string {
  return [
    'concurrent = 1',
    '[[runners]]',
    'name = "r"',
    'url = "https://gitlab.example.com"',
    'token = "glrt-abc"',
    'executor = "instance"',
    '[runners.autoscaler]',
    'plugin = "aws"',
    'capacity_per_instance = 1',
    'max_instances = 2',
    '[[runners.autoscaler.policy]]',
    `periods = ${JSON.stringify(periods)}`,
    ...(timezone === undefined ? [] : [`timezone = ${JSON.stringify(timezone)}`]),
    'idle_count = 1',
  ].join('\n');
}

const T0 = Date.UTC(2026, 0, 1);
const seeds = process.env['CRON_SEED'] !== undefined ? [Number(process.env['CRON_SEED'])] : Array.from({ length: 400 }, (_, i) => i + 1);

t.test('runner config validate and the taskscaler agree on random periods', async (t) => {
  let accepted = 0;
  let rejected = 0;
  for (const seed of seeds) {
    const r = new Prng(seed);
    const periods = Array.from({ length: r.int(1, 3) }, () => period(r));
    const timezone = r.pick(ZONES);
    const result = parseConfig(toml(periods, timezone), { file: 'config.toml', env: {} });
    const policyErrors = result.errors.filter((d) => d.path.includes('.policy['));
    const validateOk = policyErrors.length === 0;
    let compiled: ReturnType<typeof compilePolicies> | undefined;
    let scalerError = '';
    try {
      compiled = compilePolicies([{ periods, timezone, idleCount: 1 }]);
    } catch (err) {
      scalerError = (err as Error).message;
    }
    const what = `seed ${seed}: periods ${JSON.stringify(periods)}, timezone ${JSON.stringify(timezone)}`;
    if (validateOk !== (compiled !== undefined)) {
      t.fail(`${what}: config validate ${validateOk ? 'accepts' : `rejects (${policyErrors.map((d) => d.message).join('; ')})`}, taskscaler ${compiled ? 'accepts' : `rejects (${scalerError})`}`);
      continue;
    }
    if (compiled === undefined) {
      rejected++;
      continue;
    }
    accepted++;
    // Where both accept, the scaler's active policy follows the config's reading of the same periods.
    const policy = result.config?.runners[0]?.autoscaler?.policies[0];
    const schedule = new PolicySchedule(compiled);
    const zone = compiled[0]!.timezone;
    for (let k = 0; k < 40; k++) {
      const now = T0 + r.int(0, 366 * 24 * 60) * 60_000 + r.int(0, 59_999);
      const scalerActive = schedule.active(now).index === 0;
      const configActive = (policy?.periods ?? []).some((p) => parseCron(p).contains(now, zone));
      if (scalerActive !== configActive) {
        t.fail(`${what}: at ${new Date(now).toISOString()} the taskscaler says ${scalerActive}, the config's periods say ${configActive}`);
        break;
      }
    }
  }
  t.ok(accepted > 50 && rejected > 50, `both outcomes are exercised (${accepted} accepted, ${rejected} rejected)`);
});

t.test('the disagreements once found: @daily and "* * ? * *" are accepted by both', async (t) => {
  for (const periods of [['@daily'], ['* * ? * *']]) {
    const result = parseConfig(toml(periods, 'UTC'), { file: 'config.toml', env: {} });
    t.same(result.errors, [], `config validate accepts ${JSON.stringify(periods)}`);
    t.doesNotThrow(() => compilePolicies([{ periods, timezone: 'UTC' }]), `the taskscaler accepts ${JSON.stringify(periods)}`);
  }
  const [daily] = compilePolicies([{ periods: ['@daily'], timezone: 'UTC', idleCount: 3 }]);
  const s = new PolicySchedule([daily!]);
  t.equal(s.active(Date.UTC(2026, 0, 9, 0, 0, 30)).idleCount, 3, '@daily is active in the minute after midnight');
  t.equal(s.active(Date.UTC(2026, 0, 9, 0, 1)).idleCount, 0, 'and not a minute later');
});
