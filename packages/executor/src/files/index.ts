export { compileGlob, selectPaths, normalizePattern, type PathMatcher } from './glob.js';
export { TarReader, type TarEntry, type TarHandlers } from './tar-reader.js';
export {
  shq,
  listRemoteTree,
  listUntracked,
  resolveSelection,
  archiveRemote,
  extractRemote,
  type RemoteTree,
  type PathSelection,
} from './remote-tree.js';
export { LocalArchiveStore, keyFileName, type ArchiveStore, type PendingWrite } from './stores.js';
export { LocalArtifactBackend, artifactKey } from './local-artifacts.js';
