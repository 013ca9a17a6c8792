export { startAwsStandin, type AwsStandin, type AwsStandinOptions } from './standin.js';
export { Cloud, type CloudOptions, type Activity } from './cloud.js';
export { Faults, type ThrottleRule } from '@fleetrunner/standin-kit';
export { standinState, type StandinState } from './control-api.js';
export type { AcceptedCredentials } from './api/http-api.js';
export type { GroupSpec, Instance, Group, Ec2State, LifecycleState } from './model.js';
export { parseStandinArgs, standinUsage } from './cli.js';
