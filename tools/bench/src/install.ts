// Plugin install from a local registry beside `skopeo copy docker://… dir:…` of the same artifact, in the same
// run. Target: install time ≤ 1.2 × skopeo's at 50 MB, and peak memory flat in the artifact size (streamed).
//
// skopeo runs as a process, timed whole (its Go startup is a few ms). The installer is timed twice: in this
// process, warm, which is the library's own cost and the number held against the target (Node's start-up of
// 0.15-0.4 s on this machine belongs to whichever CLI embeds it), and as a child process timed whole, whose max
// RSS (from /usr/bin/time) shows whether memory stays flat as the artifact grows. The installer is loaded from its
// compiled dist by URL, so the bench package needs no dependency on it.
// Needs docker-registry and skopeo (Debian packages), like the installer's tests. Sizes: BENCH_SIZES_MB
// (default "10,50,200"), rounds per size: BENCH_ROUNDS (default 5, median reported).
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync, existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SIZES = (process.env.BENCH_SIZES_MB ?? '10,50,200').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const installerUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../../../packages/installer/dist/src/index.js')).href;

const CHILD = `
const m = await import(process.env.INSTALLER_URL);
const [mode, a, b] = process.argv.slice(2);
if (mode === 'publish') console.log((await m.publish(a, b)).reference);
else await m.install(a, { pluginDir: b });
`;

/** The part of the installer's API used here. */
interface InstallerApi {
  install(reference: string, options: { pluginDir: string }): Promise<{ path: string }>;
}

interface Run {
  seconds: number;
  maxRssMiB: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'RSSKB=%M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /RSSKB=(\d+)/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`));
      else resolve({ seconds, maxRssMiB: Number(m[1]) / 1024 });
    });
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startRegistry(dir: string): Promise<{ host: string; stop(): Promise<void> }> {
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'registry.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: info', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: ${host}`, ''].join('\n'));
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer): void => {
      log += d.toString();
      if (log.includes('listening on')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`docker-registry exited with ${code}: ${log}`)));
  });
  return {
    host,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function hostDist(dist: string, sizeMiB: number): void {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const dir = join(dist, 'linux', arch);
  mkdirSync(dir, { recursive: true });
  // Half random, half text-like repetition: gzip takes it to ~50 %, about what a Go binary compresses to.
  const fd = openSync(join(dir, 'plugin'), 'w', 0o755);
  const text = Buffer.from('func (g *InstanceGroup) Increase(ctx context.Context, n int) (int, error) {\n'.repeat(14_000)).subarray(0, 1 << 20);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, i % 2 === 0 ? randomBytes(1 << 20) : text);
  closeSync(fd);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('this benchmark runs on Linux (docker-registry, skopeo)');
  const work = mkdtempSync(join(tmpdir(), 'fr-bench-install-'));
  const childScript = join(work, 'child.mjs');
  writeFileSync(childScript, CHILD);
  const env = { ...process.env, INSTALLER_URL: installerUrl };
  const installer = (await import(installerUrl)) as InstallerApi;
  const reg = await startRegistry(work);
  const rows: string[] = [];
  try {
    const skopeoVersion = execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim();
    for (const size of SIZES) {
      const dist = join(work, `dist-${size}`);
      hostDist(dist, size);
      const ref = `${reg.host}/bench/plugin-${size}`;
      await timed('node', [childScript, 'publish', dist, `${ref}:1.0.0`], env);
      if (size === SIZES[0]) {
        // Warm-up: load modules and JIT the stream path once before anything is timed.
        for (let i = 0; i < 3; i++) {
          await installer.install(`${ref}:1`, { pluginDir: join(work, 'warm-up') });
          rmSync(join(work, 'warm-up'), { recursive: true, force: true });
        }
      }
      const ours: Run[] = [];
      const inProc: number[] = [];
      const theirs: Run[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const out = join(work, `skopeo-${size}-${r}`);
        theirs.push(await timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}:1.0.0`, `dir:${out}`]));
        rmSync(out, { recursive: true, force: true });
        const plugins = join(work, `plugins-${size}-${r}`);
        const t0 = process.hrtime.bigint();
        const installed = await installer.install(`${ref}:1`, { pluginDir: plugins });
        inProc.push(Number(process.hrtime.bigint() - t0) / 1e9);
        if (!existsSync(installed.path)) throw new Error('install left no plugin');
        rmSync(plugins, { recursive: true, force: true });
        ours.push(await timed('node', [childScript, 'install', `${ref}:1`, plugins], env));
        if (!existsSync(join(plugins, reg.host, 'bench', `plugin-${size}`, '1.0.0', 'plugin'))) throw new Error('install left no plugin');
        rmSync(plugins, { recursive: true, force: true });
      }
      const ts = median(theirs.map((x) => x.seconds));
      const is = median(inProc);
      const ps = median(ours.map((x) => x.seconds));
      const [om, tm] = [median(ours.map((x) => x.maxRssMiB)), median(theirs.map((x) => x.maxRssMiB))];
      rows.push(`| ${size} MiB | ${ts.toFixed(3)} | ${is.toFixed(3)} | ${(is / ts).toFixed(2)} | ${ps.toFixed(3)} | ${tm.toFixed(0)} | ${om.toFixed(0)} |`);
      rmSync(dist, { recursive: true, force: true });
    }
    console.log(`Plugin install vs \`skopeo copy docker://… dir:…\` (${skopeoVersion}, node ${process.version}), median of ${ROUNDS} rounds, processes timed whole\n`);
    console.log('| plugin size | skopeo s | install s (in process) | ratio (target ≤ 1.2) | install s (whole node process) | skopeo max RSS MiB | install process max RSS MiB |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
