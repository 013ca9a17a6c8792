export { readPluginRelease, resolvePluginDir, type PluginRelease } from './release-config.js';
export { bundlePlugin, entrySource, ENTRY_FLAG, BUNDLE_TARGET, type BundleOptions, type BundleResult } from './bundle.js';
export { nativeStubPlugin, fileReferencePlugin, OPTIONAL_NATIVE_MODULES, type FileReferenceRules } from './bundle-plugins.js';
export { releasePlugin, compile, DEFAULT_RELEASE_REPOSITORY, type ReleaseOptions, type ReleaseResult } from './release-plugin.js';
