export { tmpDir, type Teardownable } from './tmp-dir.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { ensureShUser, type ShUser } from './users.js';
export { startSshd, type StartSshdOptions, type SshdHandle } from './sshd.js';
export { killTree, killAll, descendants, localInstancePid } from './process-tree.js';
export { sshConnect, sshExec, connectConfigOf, type ExecResult } from './ssh-client.js';
export { generateEd25519 } from './ed25519.js';
export { untilUpdate, runningInstances } from './instance-group.js';
export { freePort } from './free-port.js';
// The one recording logger lives beside the plugin tests, which cannot import this package (it sits above plugin).
export { recordingLogger } from '@fleetrunner/plugin/test-helpers';
export {
  startRegistry,
  digestOf,
  rawPushBlob,
  rawPushManifest,
  rawPushArtifact,
  makeTar,
  pluginLayer,
  type Registry,
  type RegistryOptions,
  type RawEntry,
  type RawPlatform,
} from './registry.js';
export {
  REPO_ROOT,
  RUNNER_BIN,
  EXAMPLE_PIPELINE,
  runRunner,
  runnerExec,
  runnerConformance,
  autoscalerToml,
  victimProject,
  pipelineSucceeded,
  throttlingStorm,
  type Asserts,
  type RunnerRun,
  type AutoscalerTomlSpec,
  type VictimProject,
} from './runner-cli.js';
