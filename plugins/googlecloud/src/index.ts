export { GceInstanceGroup, MAX_GROUP_SIZE, type GceInstanceGroupOptions } from './instance-group.js';
export { parseGceConfig, type GceConfig } from './config.js';
export { computeEndpoint, ENDPOINT_ENV, type ComputeEndpoint } from './endpoint.js';
export { instanceState, osOf, archOf, type ManagedView } from './instance-state.js';
export { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
export { codeOf, gceErrorShape, isRateLimited, isTransient, wrapGceError } from './gce-errors.js';
export { withSshKey } from './ssh-keys-metadata.js';
export { VERSION } from './version.js';
