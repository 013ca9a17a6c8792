export { AzureInstanceGroup, MAX_SCALE_SET_SIZE, type AzureInstanceGroupOptions } from './instance-group.js';
export { parseAzureConfig, type AzureConfig } from './config.js';
export { azureEndpoints, ENDPOINT_ENV, type AzureEndpoints } from './cloud-endpoints.js';
export { instanceState, osOf, archOf, type VmView } from './instance-state.js';
export { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
export { azureErrorShape, codeOf, isRateLimited, isTransient, wrapAzureError } from './azure-errors.js';
export { AzureApi, type ScaleSetView, type VmAddresses } from './azure-api.js';
export { VERSION } from './version.js';
