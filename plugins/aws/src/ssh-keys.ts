export { generateEd25519, publicKeyLineOf, type SshKeyPair } from '@fleetrunner/fleeting';
