// The fleeting-plugin-aws binary (bin/plugin.js): serves an AwsInstanceGroup over the go-plugin transport.
import { serveInstanceGroup } from '@fleetrunner/fleeting';
import { AwsInstanceGroup } from './instance-group.js';
import { VERSION } from './version.js';

await serveInstanceGroup(new AwsInstanceGroup(), { name: 'fleeting-plugin-aws', version: VERSION });
