export { compileGlob, selectPaths, normalizePattern, fnmatchRegExp, isGlob, type PathMatcher } from './glob.js';
export { safeTar, type SafeTarOptions } from './safe-tar.js';
export {
  shq,
  listRemoteTree,
  listUntracked,
  resolveSelection,
  archiveRemote,
  extractRemote,
  type RemoteTree,
  type PathSelection,
  type ExtractRemoteOptions,
} from './remote-tree.js';
export { LocalArchiveStore, keyFileName, projectCacheDir, type ArchiveStore, type PendingWrite } from './stores.js';
export { LocalArtifactBackend, artifactKey } from './local-artifacts.js';
