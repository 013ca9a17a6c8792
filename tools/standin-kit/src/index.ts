export { AddressPool } from './addresses.js';
export { Backend, type BackendOptions } from './backend.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { proxyForward, proxySession } from './ssh-proxy.js';
export { generateHostKey, keyPairBlob, parseSshPublicKey, PushedKeys, rsaPublicKey, type SshPublicKey } from './keys.js';
export { Faults, type ThrottleRule } from './faults.js';
export { checkSshPort, closeHttp, listenHttp, portOf, readBody, runLifecycle } from './server.js';
export { makeTestCa, listenHttps, type TestCa } from './tls.js';
export { ControlAnswer, failureCount, jsonBody, serveControlApi, pick, present, withCounters, type ControlApi, type StandinCounters } from './control.js';
export {
  STANDIN_FLAGS,
  intOf,
  readOptionsFile,
  runStandinBinary,
  standinFlags,
  throttleOf,
  type StandinBinary,
  type StandinCommonOptions,
  type StandinFlagValues,
  type ThrottleFlag,
} from './cli.js';
export { standinParts, type StandinBaseOptions, type StandinParts, type StandinSubnets } from './standin-base.js';
export { refusedCommandLine, refuses, spawnStandin, type StandinProcess } from './binary-harness.js';
export { releaseAddresses, stopMachine, type MachineHolder } from './machine-parts.js';
