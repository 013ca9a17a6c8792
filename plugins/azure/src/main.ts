// The fleeting-plugin-azure binary (bin/plugin.js): serves an AzureInstanceGroup over the go-plugin transport.
import { serveInstanceGroup } from '@fleetrunner/fleeting';
import { AzureInstanceGroup } from './instance-group.js';
import { VERSION } from './version.js';

await serveInstanceGroup(new AzureInstanceGroup(), { name: 'fleeting-plugin-azure', version: VERSION });
