// The fleeting-plugin-local binary (bin/plugin.js): serves a LocalInstanceGroup over the go-plugin transport.
import { serveInstanceGroup } from '@fleetrunner/fleeting';
import { LocalInstanceGroup } from './instance-group.js';
import { VERSION } from './version.js';

await serveInstanceGroup(new LocalInstanceGroup(), { name: 'fleeting-plugin-local', version: VERSION });
