export { installerError, errorKind, type InstallerErrorKind } from './errors.js';
export { parseSemVer, compareSemVer, parseConstraint, formatConstraint, satisfies, highestMatch, type SemVer, type Constraint } from './semver.js';
export {
  parseReference,
  formatReference,
  repositoryPath,
  parseImageTarget,
  DEFAULT_REGISTRY,
  DEFAULT_REPOSITORY,
  type PluginReference,
  type ImageTarget,
} from './reference.js';
export { hostPlatform, formatPlatform, parsePlatform, platformMatches, pluginFileName, type Platform } from './platform.js';
export { installDir, pluginHome, pluginBinaryPath, INSTALL_RECORD } from './install-dir.js';
export { lookPath, installedVersions, findOnPath, pathBinaryName, PATH_PLUGIN_PREFIX, type ResolvedPlugin, type LookupOptions } from './lookup.js';
export { install, pluginEntryNames, type InstallOptions, type InstallResult, type InstallRecord } from './install.js';
export { RegistryClient, isLoopbackHost, type RegistryOptions } from './registry-client.js';
export { RegistryPool } from './registry-pool.js';
export { readCredential, storeCredential, dockerConfigPath, normalizeServer, type Credential, type CredentialOptions } from './credentials.js';
export { MediaType, parseManifest, type Descriptor, type ImageIndex, type ImageManifest } from './manifest.js';
export { readTar, safeEntryPath, type TarEntry, type TarHeader } from './tar-reader.js';
export { packagePlugin, readDistLayout, SCRIPT_PLATFORMS, type PackageSource, type PackagedFile } from './package.js';
export { publish, type PublishOptions, type PublishResult, type PublishedPlatform } from './publish.js';
export { bundleExport, bundleImport, BUNDLE_INDEX, type BundleEntry, type BundleIndex, type BundleImportResult } from './bundle.js';
export { login, readPasswordStream, type LoginOptions } from './login.js';
export { identifyBinary, binaryMismatch, type BinaryKind } from './binary-format.js';
export {
  installCommand,
  listCommand,
  loginCommand,
  packageCommand,
  publishCommand,
  bundleExportCommand,
  bundleImportCommand,
  type CommandIO,
  type CommandItem,
  type CommandResult,
  type PluginUse,
  type InstallCommandOptions,
  type LoginCommandOptions,
  type PackageCommandOptions,
} from './commands.js';
