import { isFeatureFlagOn, type RunnerEntry } from '@fleetrunner/config';
import { parseGoBool } from '@fleetrunner/common';
import type { JobPayload } from '@fleetrunner/gitlab';

// The executor settings of a runner entry and the unsupported-job check live in @fleetrunner/executor
// (autoscaler/settings.ts): `runner run` and `runner exec` share them.

/** Trace options of a job that depend on the runner's flags and the job's variables. */
export function traceFlags(entry: RunnerEntry, job: JobPayload): { debugTrace: boolean; dynamicForceSend: boolean; directDownload: boolean; timestamps: boolean } {
  const v = (k: string): string | undefined => job.variables.findLast((x) => x.key === k)?.value;
  const flag = (k: string): boolean | undefined => {
    // strconv.ParseBool, as upstream reads CI_DEBUG_TRACE and FF_* variables.
    const s = v(k);
    return s === undefined ? undefined : parseGoBool(s);
  };
  const debug = flag('CI_DEBUG_TRACE') === true && !entry.debugTraceDisabled;
  return {
    debugTrace: debug,
    dynamicForceSend: isFeatureFlagOn('FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL', entry.featureFlags, flag('FF_USE_DYNAMIC_TRACE_FORCE_SEND_INTERVAL')),
    directDownload: isFeatureFlagOn('FF_USE_DIRECT_DOWNLOAD', entry.featureFlags, flag('FF_USE_DIRECT_DOWNLOAD')),
    timestamps: isFeatureFlagOn('FF_TIMESTAMPS', entry.featureFlags, flag('FF_TIMESTAMPS')),
  };
}
