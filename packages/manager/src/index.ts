export { Manager, logConfigWarnings, type ManagerOptions, type ManagerState, type ManagerExit } from './manager.js';
export { ManagerMetrics } from './manager-metrics.js';
export { JobGuard } from './job-guard.js';
export { loadSystemId } from './system-id.js';
export { TokenRotation, resetRunnerToken, saveRunnerToken, setRunnerTokenKeys, tokenResetAt, type RunnerTokenKeys } from './token-rotation.js';
export { systemdUnit, systemdWord, type UnitOptions } from './service-unit.js';
