// What other packages use of the executor (the job path, its settings, the fleet and the local stores). Modules
// inside the package import each other directly; tests import the module they test.
export { runJob } from './job/run-job.js';
export type { ExecutorSettings, ArtifactBackend, JobContext, StageRecord, StagePhase, JobResult } from './job/types.js';
export { shellCommand } from './shell/script.js';
export { fnmatchRegExp, isGlob } from './files/glob.js';
export { LocalArchiveStore, projectCacheDir, type ArchiveStore } from './files/stores.js';
export { LocalArtifactBackend } from './files/local-artifacts.js';
export {
  reserveSlot,
  waitForSlot,
  executorSettings,
  unsupportedJob,
  runFleetJob,
  startFleet,
  FleetPool,
  fleetFactory,
  keyForLog,
  resolvePluginPath,
  pluginName,
  installHint,
  LowestFree,
  type SlotTicket,
  type InstanceFleet,
  type PreparedInstance,
  type RunnerIdentity,
  type FleetJobResult,
  type Fleet,
  type FleetFactory,
} from './autoscaler/index.js';
