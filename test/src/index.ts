export { startGitLabStandin, type GitLabStandin } from './gitlab-standin/server.js';
export { buildPayload, cloneUrl, GITLAB_FAILURE_REASONS, GITLAB_TOKEN_MASK_PREFIXES, type JobSpec } from './gitlab-standin/payload.js';
export { checksumOf } from './gitlab-standin/store.js';
export { dependencyOn } from './gitlab-standin/artifact-routes.js';
export type {
  GitLabStandinOptions,
  StandinJob,
  StandinJobStatus,
  FinalState,
  StoredArtifact,
  RequestRecord,
  FaultSpec,
} from './gitlab-standin/types.js';
