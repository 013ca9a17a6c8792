export { startGceStandin, type GceStandin, type GceStandinOptions } from './standin.js';
export { GceCloud, parseSshKeys, API_BASE, type GceCloudOptions } from './cloud.js';
export { authenticate, newServiceAccountKey, COMPUTE_AUDIENCE, COMPUTE_SCOPES, type ServiceAccount, type ServiceAccountKeyFile } from './auth.js';
export { standinState, resizeFailure, type StandinState } from './control-api.js';
export { GceError } from './api/errors.js';
export type { GroupSpec, Group, Instance, Operation, CurrentAction, InstanceStatus } from './model.js';
export { parseStandinArgs, standinUsage } from './cli.js';
