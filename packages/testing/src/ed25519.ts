// Tests use the same generator as the plugins (see @fleetrunner/fleeting).
export { generateEd25519 } from '@fleetrunner/fleeting';
