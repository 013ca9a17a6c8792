// Job start on a warm instance: the time from `acquire` on the taskscaler to the first byte a stage script prints
// through our SSH connector, against the local plugin in ssh2 mode and in sshd mode (real OpenSSH), beside two
// OpenSSH baselines measured in the same run against a real sshd for a /bin/sh user: (a) a fresh `ssh host true`
// and (b) `ssh host 'echo x'` over a ControlMaster connection (to its first output byte). Target: ≤ 1.5 × (b) and
// ≤ 0.25 × (a), at the median and at p95.
//
// Rows "stage" are the unit every job stage repeats: acquire → connect (reused) → `sh -s` with the script on
// stdin → first stdout byte. Rows "runJob" run the executor's whole job (prepare_script, get_sources, step_script,
// cleanup) and report its first output byte and the first byte of the user's own script. All paths are sampled
// in interleaved rounds so warm-up and drift hit each alike. Samples per path: BENCH_SAMPLES (default 60).
// Needs root (a /bin/sh user for the baselines) and openssh-server / openssh-client.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleetPath, type FleetPath } from './job-start-fleet.js';
import { startOpenSshBaselines, type OpenSshBaselines } from './job-start-openssh.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 60);
const ROUNDS = 6;

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

class Series {
  readonly samples: number[] = [];
  constructor(readonly name: string) {}
  get p50(): number {
    return pct([...this.samples].sort((a, b) => a - b), 50);
  }
  get p95(): number {
    return pct([...this.samples].sort((a, b) => a - b), 95);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-job-start-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const openssh: OpenSshBaselines = await startOpenSshBaselines('127.102.2.1', dir);
    stops.push(openssh.stop);
    const ssh2: FleetPath = await startFleetPath('ssh2', '127.102.0.0/24', join(dir, 'ssh2'));
    stops.push(ssh2.stop);
    const sshd: FleetPath = await startFleetPath('sshd', '127.102.1.0/24', join(dir, 'sshd'));
    stops.push(sshd.stop);

    const fresh = new Series('(a) OpenSSH: fresh `ssh host true`, to exit');
    const muxed = new Series("(b) OpenSSH: `ssh host 'echo x'` over ControlMaster, to first byte");
    const stage2 = new Series('ours, ssh2 mode: stage, acquire → first byte');
    const staged = new Series('ours, sshd mode: stage, acquire → first byte');
    const job2 = [new Series('ours, ssh2 mode: runJob, acquire → first byte'), new Series("ours, ssh2 mode: runJob, acquire → user script's first byte")];
    const jobd = [new Series('ours, sshd mode: runJob, acquire → first byte'), new Series("ours, sshd mode: runJob, acquire → user script's first byte")];
    const execs = { ssh2: new Series('ssh2 mode'), sshd: new Series('sshd mode') };
    const cpu = { ssh2: new Series('ssh2 mode'), sshd: new Series('sshd mode') };
    // Warm the ssh client binary and the page cache.
    await openssh.fresh();
    await openssh.muxed();
    const perRound = Math.max(1, Math.ceil(SAMPLES / ROUNDS));
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < perRound; i++) fresh.samples.push(await openssh.fresh());
      for (let i = 0; i < perRound; i++) muxed.samples.push(await openssh.muxed());
      for (let i = 0; i < perRound; i++) stage2.samples.push(await ssh2.stageStart());
      for (let i = 0; i < perRound; i++) staged.samples.push(await sshd.stageStart());
      for (const [path, series, mode] of [[ssh2, job2, 'ssh2'], [sshd, jobd, 'sshd']] as const) {
        for (let i = 0; i < perRound; i++) {
          const t = await path.fullJob();
          series[0]!.samples.push(t.firstByte);
          series[1]!.samples.push(t.userLine);
          execs[mode].samples.push(t.execs);
          cpu[mode].samples.push(t.cpuS * 1000);
        }
      }
    }

    const a = fresh;
    const b = muxed;
    console.log(`Job start on a warm instance, ${perRound * ROUNDS} samples per path in ${ROUNDS} interleaved rounds (node ${process.version}, load ${loadavg()[0]!.toFixed(2)})\n`);
    console.log('| path | p50 ms | p95 ms | p50 ÷ (b) | p95 ÷ (b) | p50 ÷ (a) | p95 ÷ (a) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const s of [a, b, stage2, staged, ...job2, ...jobd]) {
      const cells = [s.p50.toFixed(1), s.p95.toFixed(1), (s.p50 / b.p50).toFixed(2), (s.p95 / b.p95).toFixed(2), (s.p50 / a.p50).toFixed(2), (s.p95 / a.p95).toFixed(2)];
      console.log(`| ${s.name} | ${cells.join(' | ')} |`);
    }
    console.log('');
    for (const mode of ['ssh2', 'sshd'] as const) {
      console.log(`runJob, ${mode} mode: ${execs[mode].p50} SSH execs per job (p50), manager CPU ${cpu[mode].p50.toFixed(1)} ms per job (p50, ${cpu[mode].p95.toFixed(1)} p95)`);
    }
    for (const [name, s] of [['ssh2', job2[1]!], ['sshd', jobd[1]!]] as const) {
      console.log(`target ≤ 15 ms p50, ${name} mode: runJob, acquire → user script's first byte: ${s.p50 <= 15 ? 'met' : 'MISSED'} (${s.p50.toFixed(1)} ms)`);
    }
    for (const s of [stage2, staged]) {
      const met = s.p50 <= 1.5 * b.p50 && s.p95 <= 1.5 * b.p95 && s.p50 <= 0.25 * a.p50 && s.p95 <= 0.25 * a.p95;
      console.log(`target ≤ 1.5 × (b) and ≤ 0.25 × (a) at p50 and p95, ${s.name}: ${met ? 'met' : 'MISSED'}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(`stopping: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
