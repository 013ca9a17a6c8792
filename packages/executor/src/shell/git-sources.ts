import { posix } from 'node:path';
import type { GitInfo, JobPaths } from './types.js';
import type { JobSettings } from './settings.js';
import { regexQuote, shellJoin, shellQuote, splitCredentials } from './quote.js';
import { pathWord, type ScriptWriter } from './writer.js';
import { exportLine } from './exports.js';

/** Temp-dir names used by the git setup (kept from upstream so leftovers of either runner are recognised). */
export const GIT_TEMPLATE_DIR = 'git-template';
export const EXTERNAL_GIT_CONFIG_FILE = '.gitlab-runner.ext.conf';
const EXT_CONFIG_VAR = 'GLR_EXT_GIT_CONFIG_PATH';

/** Runner-side git options. */
export interface GitSourceOptions {
  /** Runner `clone_url`: fetch `<clone_url>/<projectPath>.git` with the job token instead of `repo_url`. */
  readonly cloneUrl?: string;
  /** CI_PROJECT_PATH, needed with `cloneUrl`. */
  readonly projectPath?: string;
  /** Runner `url`: submodules on the same GitLab get the job token through an `insteadOf` rule. */
  readonly serverUrl?: string;
  /** The job token (payload `token`). */
  readonly jobToken?: string;
  /** `clean_git_config`, default true: remove git configs and hooks an earlier job may have planted. */
  readonly cleanGitConfig?: boolean;
  /** `safe_directory_checkout`, default false: add the checkout to git's global `safe.directory`. */
  readonly safeDirectoryCheckout?: boolean;
  /**
   * The job has `CI_SERVER_TLS_CA_FILE` (`ca`) / `CI_SERVER_TLS_CERT_FILE` and `_KEY_FILE` (`cert`): git uses them
   * (`http.<GitLab>.sslCAInfo`, `sslCert`, `sslKey`) for the runner's GitLab and the repository's server.
   */
  readonly serverTls?: { readonly ca: boolean; readonly cert: boolean };
  /** `http.userAgent` of fetches. */
  readonly userAgent?: string;
  /** FF_USE_GIT_BUNDLE_URIS (default on): `transfer.bundleURI=true`. */
  readonly bundleUris?: boolean;
}

/** Everything the get_sources writer needs. */
export interface GitSourceInput {
  readonly paths: JobPaths;
  readonly gitInfo: GitInfo;
  readonly settings: JobSettings;
  readonly options: GitSourceOptions;
}

function withToken(raw: string, token: string | undefined): string {
  if (token === undefined || token === '') return raw;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return raw;
    u.username = 'gitlab-ci-token';
    u.password = token;
    return u.toString();
  } catch {
    return raw;
  }
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** The fetch URL with credentials (upstream `GetRemoteURL`): `clone_url`-based when configured, else `repo_url`. */
export function remoteUrl(gitInfo: GitInfo, options: GitSourceOptions): string {
  if (options.cloneUrl && /^[a-z][a-z0-9+.-]*:/i.test(options.cloneUrl)) {
    const base = trimSlash(options.cloneUrl);
    return withToken(`${base}/${options.projectPath ?? ''}.git`, options.jobToken);
  }
  return gitInfo.repoUrl;
}

/** `[with credentials, without]` pairs: git fetches through the credential-free URL and rewrites it on the fly. */
export function insteadOfs(gitInfo: GitInfo, options: GitSourceOptions): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const { withCredentials, withoutCredentials } = splitCredentials(remoteUrl(gitInfo, options));
  if (withCredentials !== withoutCredentials) pairs.push([withCredentials, withoutCredentials]);
  for (const base of [options.cloneUrl || options.serverUrl, originOf(gitInfo.repoUrl)]) {
    if (!base || !/^https?:\/\//i.test(base)) continue;
    const plain = trimSlash(splitCredentials(base).withoutCredentials);
    const authed = trimSlash(withToken(plain, options.jobToken));
    if (authed !== plain) pairs.push([authed, plain]);
  }
  const seen = new Set<string>();
  return pairs.filter(([a, b]) => (seen.has(`${a} ${b}`) ? false : (seen.add(`${a} ${b}`), true)));
}

function originOf(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.host}` : undefined;
  } catch {
    return undefined;
  }
}

/** Removes stale lock files and, unless disabled, git configs and hooks that a previous job could have planted. */
export function writeGitCleanup(w: ScriptWriter, input: GitSourceInput): void {
  const git = posix.join(input.paths.projectDir, '.git');
  const submodules = input.settings.gitSubmoduleStrategy !== 'none';
  for (const f of ['index.lock', 'shallow.lock', 'HEAD.lock', 'hooks/post-checkout', 'config.lock']) {
    w.rmFile(pathWord(posix.join(git, f)));
    if (submodules) w.rmFilesRecursive(pathWord(posix.join(git, 'modules')), posix.basename(f));
  }
  w.rmFilesRecursive(pathWord(posix.join(git, 'refs')), '*.lock');
  if (input.options.cleanGitConfig === false || input.settings.gitStrategy === 'none') return;
  for (const dir of [posix.join(input.paths.tempDir, GIT_TEMPLATE_DIR), git]) {
    w.rmFile(pathWord(posix.join(dir, 'config')));
    w.rmDir(pathWord(posix.join(dir, 'hooks')));
  }
  if (submodules) {
    w.rmFilesRecursive(pathWord(posix.join(git, 'modules')), 'config');
    w.rmDirsRecursive(pathWord(posix.join(git, 'modules')), 'hooks');
  }
}

function writeTemplateDir(w: ScriptWriter, input: GitSourceInput): void {
  const template = posix.join(input.paths.tempDir, GIT_TEMPLATE_DIR);
  const templateConfig = pathWord(posix.join(template, 'config'));
  const ext = pathWord(posix.join(input.paths.tempDir, EXTERNAL_GIT_CONFIG_FILE));
  w.commandLine(`mkdir -p ${pathWord(template)}`);
  if (input.options.safeDirectoryCheckout) {
    w.commandLine(`git config --global --add safe.directory ${pathWord(input.paths.projectDir)}`);
  }
  for (const [k, v] of [
    ['init.defaultBranch', 'none'],
    ['fetch.recurseSubmodules', 'false'],
    ['credential.interactive', 'never'],
    ['gc.autoDetach', 'false'],
  ] as const) {
    w.commandLine(`git config -f ${templateConfig} ${k} ${v}`);
  }
  w.rmFile(ext);
  if (input.options.bundleUris !== false) w.commandLine(`git config -f ${ext} transfer.bundleURI true`);
  const tls = input.options.serverTls;
  if (tls && (tls.ca || tls.cert)) {
    const origins = [...new Set([input.options.serverUrl, input.options.cloneUrl, input.gitInfo.repoUrl].map((u) => (u ? tlsOrigin(u) : undefined)).filter((u): u is string => !!u))];
    for (const origin of origins) {
      const settings: [string, string][] = [];
      if (tls.ca) settings.push(['sslCAInfo', 'CI_SERVER_TLS_CA_FILE']);
      if (tls.cert) settings.push(['sslCert', 'CI_SERVER_TLS_CERT_FILE'], ['sslKey', 'CI_SERVER_TLS_KEY_FILE']);
      for (const [k, v] of settings) w.commandLine(`git config -f ${ext} ${shellQuote(`http.${origin}.${k}`)} "$${v}"`);
    }
  }
  for (const [authed, plain] of insteadOfs(input.gitInfo, input.options)) {
    w.commandLine(
      `git config --file ${ext} --replace-all ${shellQuote(`url.${authed}.insteadOf`)} ${shellQuote(plain)} ${shellQuote(`^${regexQuote(plain)}$`)}`,
    );
  }
  const includePattern = shellQuote(`${regexQuote(EXTERNAL_GIT_CONFIG_FILE)}$`);
  w.commandLine(`git config --file ${templateConfig} --replace-all include.path ${ext} ${includePattern}`);
  exportLine(w, EXT_CONFIG_VAR, ext);
}

function writeFetch(w: ScriptWriter, input: GitSourceInput): void {
  const { gitInfo, paths, settings } = input;
  const depth = gitInfo.depth;
  w.notice(depth > 0 ? `Fetching changes with git depth set to ${depth}...` : 'Fetching changes...');
  const template = pathWord(posix.join(paths.tempDir, GIT_TEMPLATE_DIR));
  const format = gitInfo.repoObjectFormat && gitInfo.repoObjectFormat !== 'sha1' ? ` --object-format ${shellQuote(gitInfo.repoObjectFormat)}` : '';
  w.commandLine(`git init ${pathWord(paths.projectDir)} --template ${template}${format}`);
  w.commandLine(`cd ${pathWord(paths.projectDir)}`);

  const plain = splitCredentials(remoteUrl(gitInfo, input.options)).withoutCredentials;
  w.ifCommandQuiet('git', 'remote', 'add', 'origin', plain);
  w.notice('Created fresh repository.');
  w.else();
  w.command('git', 'remote', 'set-url', 'origin', plain);
  const includePattern = shellQuote(`${regexQuote(EXTERNAL_GIT_CONFIG_FILE)}$`);
  w.commandLine(`git config --file .git/config --replace-all include.path "$${EXT_CONFIG_VAR}" ${includePattern}`);
  w.endIf();

  const args = ['git', '-c', `http.userAgent=${input.options.userAgent ?? 'fleetrunner'}`, 'fetch', 'origin', '--no-recurse-submodules'];
  args.push(...gitInfo.refspecs);
  if (depth > 0) args.push('--depth', String(depth));
  args.push(...settings.gitFetchExtraFlags);
  if (depth > 0) {
    w.command(...args);
    return;
  }
  w.ifFile('.git/shallow');
  w.command(...args, '--unshallow');
  w.else();
  w.command(...args);
  w.endIf();
}

function writeCheckout(w: ScriptWriter, input: GitSourceInput): void {
  const { gitInfo, settings } = input;
  w.notice(`Checking out ${gitInfo.sha.slice(0, 8)} as detached HEAD (ref is ${gitInfo.ref})...`);
  w.command('git', '-c', 'submodule.recurse=false', 'checkout', '-f', '-q', gitInfo.sha);
  if (settings.gitCleanFlags.length > 0) w.command('git', 'clean', ...settings.gitCleanFlags);
  if (!settings.gitLfsSkipSmudge) {
    w.ifCommandQuiet('git', 'lfs', 'version');
    w.command('git', 'lfs', 'pull');
    w.emptyLine();
    w.endIf();
  }
}

/**
 * Writes the repository part of get_sources (upstream `writeCloneFetchCmds`): `clone` removes the checkout and
 * fetches afresh, `fetch` reuses it (`git init` is idempotent, the remote URL is reset), both fetch the payload
 * refspecs (shallow with `git_info.depth`, unshallowing an old shallow checkout otherwise) and check out the sha
 * with `git checkout -f` + `git clean <GIT_CLEAN_FLAGS>`; `none` keeps the directory as it is, `empty` recreates
 * it empty. The job token never appears in `.git/config` or in the log: the remote is credential-free and an
 * `insteadOf` rule in a temp-dir config (included by the checkout's config) adds the credentials on the fly.
 */
export function writeCloneFetch(w: ScriptWriter, input: GitSourceInput): void {
  const { settings, paths } = input;
  if (!settings.gitLfsSkipSmudge) exportLine(w, 'GIT_LFS_SKIP_SMUDGE', '1');
  switch (settings.gitStrategy) {
    case 'clone':
    case 'fetch':
      writeGitCleanup(w, input);
      writeTemplateDir(w, input);
      if (settings.gitStrategy === 'clone') w.rmDir(pathWord(paths.projectDir));
      writeFetch(w, input);
      break;
    case 'none':
      w.notice('Skipping Git repository setup');
      w.commandLine(`mkdir -p ${pathWord(paths.projectDir)}`);
      break;
    case 'empty':
      w.notice('Skipping Git repository setup and creating an empty build directory');
      w.rmDir(pathWord(paths.projectDir));
      w.commandLine(`mkdir -p ${pathWord(paths.projectDir)}`);
      break;
  }
  if (settings.gitCheckout) writeCheckout(w, input);
  else w.notice('Skipping Git checkout');
}

/** `git credential reject` for the remote host, so a user credential helper forgets the job token (best effort). */
export function writeClearGitCredentials(w: ScriptWriter, input: GitSourceInput): void {
  const plain = splitCredentials(remoteUrl(input.gitInfo, input.options)).withoutCredentials;
  let origin: string;
  try {
    const u = new URL(plain);
    if (!['http:', 'https:', 'ssh:'].includes(u.protocol) || u.host === '') return;
    origin = `${u.protocol}//${u.host}`;
  } catch {
    return;
  }
  w.line(`printf 'url=%s\\nusername=gitlab-ci-token\\n\\n' ${shellQuote(origin)} | ${shellJoin(['git', 'credential', 'reject'])} >/dev/null 2>&1 || true`);
}

/** `https://host[:port]` of an https URL (credentials dropped); undefined for other schemes. */
function tlsOrigin(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' ? `${u.protocol}//${u.host}` : undefined;
  } catch {
    return undefined;
  }
}
