import { RunnerError } from '@fleetrunner/common';
import type { GlobalFlags } from '../global-flags.js';
import type { Output } from '../output.js';

/** `runner run-single`: not available yet (the instance executor needs a [runners.autoscaler] section). */
export async function runSingleCommand(_args: string[], _io: Output, _globals: GlobalFlags): Promise<number> {
  throw new RunnerError('unsupported', 'run-single is not available yet: use "runner run" with a config file');
}
