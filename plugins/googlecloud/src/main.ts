// The fleeting-plugin-googlecloud binary (bin/plugin.js): serves a GceInstanceGroup over the go-plugin transport.
import { serveInstanceGroup } from '@fleetrunner/fleeting';
import { GceInstanceGroup } from './instance-group.js';
import { VERSION } from './version.js';

await serveInstanceGroup(new GceInstanceGroup(), { name: 'fleeting-plugin-googlecloud', version: VERSION });
