import type { DeepPartial } from './deep-partial.js';
import type { DiagnosticSink } from './diagnostics.js';
import { FEATURE_FLAG_DEFAULTS } from './feature-flags.js';
import { normalizeListenAddress } from './listen-address.js';
import { OTHER_EXECUTORS } from './schema-runner.js';
import type { AutoscalerConfig, RunnerConfig, RunnerEntry } from './types.js';

/**
 * Cross-field rules over the defaulted config; `parsed` tells what the file actually wrote. Everything a single
 * key can be checked for alone was already checked by the schema stage.
 */
export function checkRules(config: RunnerConfig, parsed: DeepPartial<RunnerConfig>, sink: DiagnosticSink): void {
  const listen = normalizeListenAddress(parsed.listenAddress ?? '');
  if ('error' in listen) sink.error('listen_address', `expected host:port, ${listen.error}`);
  if (config.runners.length === 0) sink.warn('runners', 'no [[runners]] entries; nothing will request jobs', 1);
  else if (config.runners.every((r) => OTHER_EXECUTORS.includes(r.executor))) sink.warn('runners', 'no [[runners]] entry with executor = "instance"; nothing will request jobs', 1);
  const seen = new Map<string, number>();
  config.runners.forEach((runner, i) => {
    const path = `runners[${i}]`;
    if (OTHER_EXECUTORS.includes(runner.executor)) return; // skipped, warned about once by the schema
    checkRunner(runner, parsed.runners?.[i] ?? {}, path, sink);
    const key = `${runner.url}|${runner.id === 0 ? runner.token : runner.id}`;
    const first = seen.get(key);
    if (first !== undefined && runner.token !== '') sink.warn(path, `same GitLab URL and ${runner.id === 0 ? 'token' : 'id'} as runners[${first}]; both would share one autoscaler`);
    else seen.set(key, i);
  });
}

function checkRunner(r: RunnerEntry, p: DeepPartial<RunnerEntry>, path: string, sink: DiagnosticSink): void {
  checkUrl(r.url, `${path}.url`, sink);
  if (r.token.trim() === '') sink.error(`${path}.token`, 'required: the runner authentication token (glrt-…)');
  if (p.executor === undefined || r.executor === '') sink.error(`${path}.executor`, 'required: expected "instance"');
  else if (r.executor !== 'instance') sink.error(`${path}.executor`, `unknown executor ${JSON.stringify(r.executor)}; expected "instance" (or one of GitLab Runner's other executors, whose runners are skipped: ${OTHER_EXECUTORS.join(', ')})`);
  if (p.slotCgroupTemplate && !/\$\{slot\}|\$slot\b/.test(r.slotCgroupTemplate)) {
    sink.warn(`${path}.slot_cgroup_template`, 'has no ${slot} placeholder; every slot gets the same cgroup');
  }
  for (const name of Object.keys(r.featureFlags)) {
    if (!Object.hasOwn(FEATURE_FLAG_DEFAULTS, name)) sink.warn(`${path}.feature_flags.${name}`, 'unknown feature flag, ignored');
  }
  if (r.executor === 'instance' && r.autoscaler === undefined) {
    sink.error(`${path}.autoscaler`, 'required: the instance executor needs a [runners.autoscaler] section with a plugin');
  }
  if (r.autoscaler !== undefined) checkAutoscaler(r, r.autoscaler, p.autoscaler ?? {}, `${path}.autoscaler`, sink);
  else if (r.instance.useCommonBuildDir || r.instance.allowedImages.length > 0) checkInstance(r, path, sink);
}

function checkUrl(url: string, path: string, sink: DiagnosticSink): void {
  if (url === '') {
    sink.error(path, 'required: the GitLab URL, e.g. "https://gitlab.com"');
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    sink.error(path, `expected an http(s) URL such as "https://gitlab.com", got ${JSON.stringify(url)}`);
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    sink.error(path, `expected an http or https URL, got scheme ${JSON.stringify(parsed.protocol.slice(0, -1))}`);
  } else if (/\/ci\/?$/.test(parsed.pathname)) {
    sink.warn(path, 'the legacy "/ci" suffix is stripped; write the GitLab base URL');
  }
}

function checkAutoscaler(r: RunnerEntry, a: AutoscalerConfig, p: DeepPartial<AutoscalerConfig>, path: string, sink: DiagnosticSink): void {
  if (a.plugin.trim() === '') sink.error(`${path}.plugin`, 'required: the fleeting plugin, e.g. "aws", "googlecloud:latest" or "fleeting-plugin-aws"');
  else if (/\s/.test(a.plugin)) sink.error(`${path}.plugin`, `expected a plugin reference without spaces, got ${JSON.stringify(a.plugin)}`);
  const capacity = a.maxInstances * a.capacityPerInstance;
  a.policies.forEach((policy, j) => {
    const pp = `${path}.policy[${j}]`;
    if (a.maxInstances > 0 && policy.idleCount > capacity) {
      sink.warn(
        `${pp}.idle_count`,
        `${policy.idleCount} idle jobs cannot be reached: max_instances × capacity_per_instance = ${a.maxInstances} × ${a.capacityPerInstance} = ${capacity}`,
      );
    }
    if (policy.scaleFactorLimit > 0 && policy.scaleFactor === 0) sink.warn(`${pp}.scale_factor_limit`, 'has no effect while scale_factor is 0');
  });
  if (Number.isFinite(a.scaleThrottle.limitPerSecond) === false && p.scaleThrottle?.burst !== undefined) {
    sink.warn(`${path}.scale_throttle.burst`, 'ignored while limit is -1 (unlimited)');
  }
  if (a.vmIsolation.enabled) checkVmIsolation(a, `${path}.vm_isolation`, sink);
  checkInstance(r, path.replace(/\.autoscaler$/, ''), sink);
}

/** What `runner config validate` says of every runner with `vm_isolation.enabled = true`. */
export const VM_ISOLATION_NOTE =
  'every job runs in a VM created through the nesting daemon on the instance (the instance image must serve it at nesting_host, e.g. `nesting serve -hypervisor qemu|tart`); a job whose VM cannot be created or reached fails as a system failure, it never runs on the instance itself';

function checkVmIsolation(a: AutoscalerConfig, path: string, sink: DiagnosticSink): void {
  const vm = a.vmIsolation;
  if (vm.nestingHost === '') {
    sink.error(`${path}.nesting_host`, 'required when vm_isolation is enabled: the nesting daemon\'s socket on the instance, e.g. "unix:///Users/ec2-user/Library/Application Support/nesting.sock"');
  } else if (!/^unix:/.test(vm.nestingHost) && !vm.nestingHost.startsWith('/')) {
    sink.error(`${path}.nesting_host`, `expected a unix socket on the instance ("unix:///path/to/nesting.sock" or an absolute path), got ${JSON.stringify(vm.nestingHost)}`);
  }
  if (vm.connectorConfig.username === '') {
    sink.error(`${path}.connector_config.username`, 'required when vm_isolation is enabled: the login user of the nested VMs (the nesting daemon reports only their address)');
  }
  if (vm.connectorConfig.protocol !== 'ssh') sink.error(`${path}.connector_config.protocol`, `nested VMs are reached over ssh only, got ${JSON.stringify(vm.connectorConfig.protocol)}`);
  sink.warn(`${path}.enabled`, VM_ISOLATION_NOTE);
}

function checkInstance(r: RunnerEntry, path: string, sink: DiagnosticSink): void {
  const vm = r.autoscaler?.vmIsolation.enabled ?? false;
  if (r.instance.useCommonBuildDir && !vm && r.autoscaler?.maxUseCount !== 1) {
    sink.warn(`${path}.instance.use_common_build_dir`, 'only honoured with vm_isolation enabled or max_use_count = 1; ignored');
  }
  if (r.instance.allowedImages.length > 0 && !vm) {
    sink.warn(`${path}.instance.allowed_images`, 'only checked when vm_isolation is enabled');
  }
}

/** True for the runners this binary runs (the instance executor); the others in a shared config.toml are skipped. */
export function runsHere(r: RunnerEntry): boolean {
  return r.executor === 'instance';
}
