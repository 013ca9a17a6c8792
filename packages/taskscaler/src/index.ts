export type { Taskscaler, TaskscalerState, TaskscalerDeps, TaskscalerHooks, Acquisition, HookInstance } from './taskscaler.js';
export { createTaskscaler } from './create.js';
export { resolveConfig, type TaskscalerConfig, type ResolvedConfig, type HistogramName } from './config.js';
export { compilePolicies, idleTarget, PolicySchedule, DEFAULT_POLICY, type PolicyConfig, type ActivePolicy, type CompiledPolicy } from './policy.js';
export { plan, type Plan, type PlanInput } from './planner.js';
export { TokenBucket } from './throttle.js';
/** Re-exported: the one back-off lives in @fleetrunner/common. */
export { Backoff } from '@fleetrunner/common';
export { FileStateStore, parseSavedState, type StateStore, type SavedState, type SavedInstance, type SavedAcquisition } from './state-store.js';
export { INSTANCE_LIFECYCLES, type InstanceLifecycle, type InstanceCause, type RemovalReason } from './instance.js';
export {
  DEFAULT_BUCKETS,
  type TaskscalerStats,
  type TaskscalerCounters,
  type HistogramSnapshot,
  type InstanceInfo,
  type ScalingDecision,
  type DecisionReason,
  type DecisionCore,
} from './stats.js';
export { formatDuration } from './errors.js';
