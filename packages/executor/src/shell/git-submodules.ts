import type { ScriptWriter } from './writer.js';
import type { JobSettings } from './settings.js';
import { shellJoin } from './quote.js';

const WITH_CREDENTIALS = 'git -c "include.path=$GLR_EXT_GIT_CONFIG_PATH"';

function updateNotice(recursive: boolean, depth: number): string {
  const how = recursive ? ' recursively' : '';
  return depth > 0
    ? `Updating/initializing submodules${how} with git depth set to ${depth}...`
    : `Updating/initializing submodules${how}...`;
}

/**
 * Writes the submodule part of get_sources (upstream `writeSubmoduleUpdateCmds`), run inside the checkout:
 * `init`, `sync`, clean and reset every submodule, `update --init` (with GIT_SUBMODULE_DEPTH,
 * GIT_SUBMODULE_UPDATE_FLAGS and GIT_SUBMODULE_PATHS) once more after a sync when it fails, clean again, and
 * make each submodule include the credential config so later git commands in it authenticate.
 */
export function writeSubmodules(w: ScriptWriter, settings: JobSettings): void {
  const strategy = settings.gitSubmoduleStrategy;
  if (strategy === 'none') {
    w.notice('Skipping Git submodules setup');
    return;
  }
  const recursive = strategy === 'recursive';
  const depth = settings.gitSubmoduleDepth;
  w.notice(updateNotice(recursive, depth));

  const pathArgs = settings.gitSubmodulePaths.length > 0 ? ['--', ...settings.gitSubmodulePaths] : [];
  const rec = recursive ? ['--recursive'] : [];
  const sync = ['git', 'submodule', 'sync', ...rec, ...pathArgs];
  const foreach = ['git', 'submodule', 'foreach', ...rec];
  const update = ['submodule', 'update', '--init', ...rec];
  if (depth > 0) update.push('--depth', String(depth));
  update.push(...settings.gitSubmoduleUpdateFlags, ...pathArgs);
  const cleanFlags = settings.gitCleanFlags.length > 0 ? settings.gitCleanFlags : ['-ffdx'];
  const updateLine = `${WITH_CREDENTIALS} ${shellJoin(update)}`;

  w.command('git', 'submodule', 'init');
  w.command(...sync);
  w.command(...foreach, 'git', 'clean', ...cleanFlags);
  w.command(...foreach, 'git', 'reset', '--hard');

  w.ifRaw(updateLine);
  w.notice('Updated submodules');
  w.command(...sync);
  w.else();
  w.warning('Updating submodules failed. Retrying...');
  w.command(...sync);
  w.commandLine(updateLine);
  w.command(...foreach, 'git', 'reset', '--hard');
  w.endIf();

  w.command(...foreach, 'git', 'clean', ...cleanFlags);

  w.notice('Configuring submodules to use parent git credentials...');
  const configure = recursive ? foreach : [...foreach, '--recursive'];
  w.commandLine(`${shellJoin([...configure, 'git', 'config', '--replace-all', 'include.path'])} "$GLR_EXT_GIT_CONFIG_PATH"`);

  if (!settings.gitLfsSkipSmudge) {
    w.ifCommandQuiet('git', 'lfs', 'version');
    w.notice('Pulling LFS files...');
    w.commandLine(`${WITH_CREDENTIALS} ${shellJoin(['submodule', 'foreach', ...rec, 'git', 'lfs', 'pull'])}`);
    w.endIf();
  }
}
