export { AddressPool } from './addresses.js';
export { Backend, type BackendOptions } from './backend.js';
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { proxyForward, proxySession } from './ssh-proxy.js';
export { generateHostKey, keyPairBlob, parseSshPublicKey, PushedKeys, rsaPublicKey, type SshPublicKey } from './keys.js';
export { Faults, type ThrottleRule } from './faults.js';
export { checkSshPort, closeHttp, listenHttp, portOf, readBody, runLifecycle } from './server.js';
export { makeTestCa, listenHttps, type TestCa } from './tls.js';
