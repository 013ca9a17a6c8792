import { serve, createHclogLogger, type MagicCookie } from '@fleetrunner/plugin';
import { instanceGroupService } from './grpc-server.js';
import type { InstanceGroup } from './instance-group.js';

/** Version facts a plugin binary reports (`-version`, ProviderInfo defaults). */
export interface PluginVersionInfo {
  /** Binary name, e.g. `fleeting-plugin-aws`. */
  name: string;
  version: string;
  revision?: string;
  /** Build time as text (e.g. ISO 8601). */
  builtAt?: string;
}

/** Options of {@link serveInstanceGroup}. */
export interface ServeInstanceGroupOptions extends PluginVersionInfo {
  /** Default: the standard fleetrunner cookie. */
  cookie?: MagicCookie;
  /** Command-line arguments; default `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le' };

function osArch(): string {
  return `${process.platform}/${GO_ARCH[process.arch] ?? process.arch}`;
}

/** `sha=<rev>; ref=; node=<ver>; built_at=<time>; os_arch=<os>/<arch>` — the ProviderInfo.buildInfo default. */
export function buildInfoString(v: PluginVersionInfo): string {
  return `sha=${v.revision ?? ''}; ref=; node=${process.version}; built_at=${v.builtAt ?? ''}; os_arch=${osArch()}`;
}

/** The multi-line block `-version` prints, like an upstream plugin's. */
export function versionBlock(v: PluginVersionInfo): string {
  const rows: [string, string][] = [
    ['Name', v.name],
    ['Version', v.version],
    ['Git revision', v.revision ?? ''],
    ['Node version', process.version],
    ['Built', v.builtAt ?? ''],
    ['OS/Arch', osArch()],
  ];
  return rows.map(([k, val]) => `${`${k}:`.padEnd(14)}${val}`).join('\n') + '\n';
}

/**
 * A fleeting plugin's whole `main`: `await serveInstanceGroup(new MyGroup(), { name, version })`.
 * With `-version`/`--version` it prints the version block and exits 0; otherwise it serves `group` over the
 * go-plugin transport until the host stops it. If the plugin stops for any reason other than the host's
 * shutdown request (SIGTERM, host gone) it calls `group.shutdown()` (bounded to 10 s) before exiting.
 */
export async function serveInstanceGroup(group: InstanceGroup, options: ServeInstanceGroupOptions): Promise<void> {
  const argv = options.argv ?? process.argv.slice(2);
  if (argv.includes('-version') || argv.includes('--version')) {
    process.stdout.write(versionBlock(options));
    process.exit(0);
  }
  const logger = createHclogLogger({ module: options.name });
  const service = instanceGroupService(group, {
    logger,
    defaults: { version: options.version, buildInfo: buildInfoString(options) },
  });
  await serve({
    services: [service],
    logger,
    cookie: options.cookie,
    env: options.env,
    onStop: async (reason) => {
      if (reason === 'controller_shutdown') return;
      await group.shutdown({ signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
        logger.warn('shutting down instance group', { error: err instanceof Error ? err.message : String(err) });
      });
    },
  });
}
