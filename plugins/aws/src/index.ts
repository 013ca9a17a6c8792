export { AwsInstanceGroup, type AwsInstanceGroupOptions } from './instance-group.js';
export { parseAwsConfig, type AwsConfig } from './config.js';
export { instanceState } from './instance-state.js';
export { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
export { isThrottling, isTransient, wrapAwsError } from './aws-errors.js';
export { decryptWindowsPassword } from './windows-password.js';
export { generateEd25519, publicKeyLineOf, type SshKeyPair } from './ssh-keys.js';
export { VERSION } from './version.js';
