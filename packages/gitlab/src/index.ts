export {
  GitLabClient,
  type GitLabClientOptions,
  type CallOptions,
  type JobRequestResult,
  type RunnerCredentials,
  type JobUpdate,
  type RegisterParameters,
} from './client.js';
export { ApiTransport, normalizeBaseUrl, DEFAULT_RESPONSE_HEADER_TIMEOUT_MS, type ApiTransportOptions, type ApiRequest, type BodySource, type RetryEvent, type ResponseEvent } from './http.js';
export { isRetryableStatus, serverRetryDelay, backoffDelay, DEFAULT_MAX_ATTEMPTS } from './retry.js';
export {
  MAX_UPDATE_INTERVAL_MS,
  type UpdateOutcome,
  type PatchOutcome,
  type RemoteJobState,
  type UpdateJobResult,
  type PatchTraceResult,
} from './results.js';
export { JobPayloadError, codeForStatus } from './errors.js';
export { parseJobPayload } from './payload-validate.js';
export type {
  JobPayload,
  JobCredentials,
  JobInfo,
  GitInfo,
  JobRunnerInfo,
  JobInput,
  JobVariable,
  JobStep,
  JobImage,
  ImageExecutorOptions,
  ArtifactSpec,
  CacheSpec,
  RegistryCredentials,
  JobDependency,
  GitLabFeatures,
  SecretSpec,
  JobHook,
  PolicyOptions,
  SuspendOptions,
  RefType,
  When,
  CachePolicy,
  ArtifactFormat,
  HookName,
} from './job-payload.js';
export type * as wire from './wire.js';
export { runnerInfo, INSTANCE_EXECUTOR_FEATURES, type RunnerInfo, type RunnerInfoOptions } from './runner-info.js';
export {
  JobTrace,
  DEFAULT_UPDATE_INTERVAL_MS,
  DEFAULT_FORCE_SEND_INTERVAL_MS,
  DEFAULT_MAX_PATCH_BYTES,
  DEFAULT_FINAL_UPDATE_RETRY_LIMIT,
  type JobTraceOptions,
  type TraceApi,
  type JobOutcome,
  type FinalUpdateResult,
} from './job-trace.js';
export { TraceBuffer, DEFAULT_OUTPUT_LIMIT_BYTES, limitNotice, type MaskOptions, type TraceBufferOptions } from './trace-buffer.js';
export { loadRunnerTls, resolveRunnerTlsFiles, type RunnerTls, type RunnerTlsFiles, type RunnerTlsSettings } from './tls.js';
export { LineTimestamper, RUNNER_STREAM, WORK_STDOUT, WORK_STDERR, type LogStream } from './log-timestamper.js';
export { StreamMasker, MASK, DEFAULT_TOKEN_MASK_PREFIXES, maskText } from './masker.js';
export { mapFailureReason, ALWAYS_SUPPORTED_FAILURE_REASONS, type FailureReason } from './failure-reasons.js';
export {
  ANSI,
  colour,
  warningLine,
  errorLine,
  successLine,
  sectionStart,
  sectionEnd,
  sectionHeader,
  timestampPrefix,
  type AnsiColour,
  type SectionOptions,
} from './log-format.js';
export { uploadArtifacts, downloadArtifacts, type UploadArtifactsOptions, type DownloadArtifactsOptions } from './artifacts.js';
export { zipStream, writeZipFile, type ZipEntrySource, type ZipWriterOptions } from './zip-writer.js';
export { directoryEntries } from './zip-entries.js';
export { openZip, listZip, extractZip, type ZipArchive, type ZipEntryInfo, type ExtractResult } from './zip-reader.js';
export { tarToZipEntries, tarFiles, zipFileToTar, type ZipToTarOptions } from './artifact-archives.js';
export { artifactSpoolDir, spoolArchive } from './artifact-spool.js';
export { DEFAULT_MAX_EXTRACTED_BYTES, MAX_LINK_TARGET_BYTES, safeEntryName, checkLinkTarget, tooLarge } from './zip-safety.js';
export { shortToken, runnerKey } from './short-token.js';
