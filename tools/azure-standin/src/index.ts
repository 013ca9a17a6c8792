export { startAzureStandin, DEFAULT_SUBSCRIPTION, type AzureStandin, type AzureStandinOptions } from './standin.js';
export { AzureCloud, allocationFailure, MAX_CAPACITY, type AzureCloudOptions } from './cloud.js';
export { authenticate, newDirectory, serveIdentity, ARM_SCOPE, ARM_AUDIENCE, type Directory } from './auth.js';
export { standinState, type StandinState } from './control-api.js';
export { ArmError } from './api/errors.js';
export type { ScaleSetSpec, ScaleSet, Vm, AsyncOperation, ProvisioningState, PowerState } from './model.js';
export { parseStandinArgs, standinUsage } from './cli.js';
