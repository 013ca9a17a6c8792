import { RunnerError, toRunnerError, type Clock, type Logger, type Timer } from '@fleetrunner/common';
import { isFeatureFlagOn, loadConfig, readConfigText, runnerBlocks, tomlString, writeConfigText, type Env, type RunnerEntry } from '@fleetrunner/config';
import { GitLabClient, runnerInfo, shortToken, type RunnerCredentials, type RunnerInfo } from '@fleetrunner/gitlab';

/** Share of a token's lifetime after which it is reset (GitLab Runner's `TokenResetIntervalFactor`). */
export const TOKEN_RESET_FACTOR = 0.75;

/** Longest single timer (setTimeout takes at most 2³¹−1 ms); later deadlines are re-armed. */
const MAX_TIMER_MS = 24 * 3600 * 1000;

/** The keys of one `[[runners]]` entry to set: `token`, `token_obtained_at`, `token_expires_at`. */
export interface RunnerTokenKeys {
  token: string;
  obtainedAt: Date;
  /** Undefined: the key is removed (the token does not expire). */
  expiresAt: Date | undefined;
}

function tomlDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * `text` with the token keys of the `index`-th `[[runners]]` entry (file order) replaced, or added after its
 * `token` line; every other byte stays as it was. The keys are looked for among the entry's own keys (before its
 * first sub-table header).
 */
export function setRunnerTokenKeys(text: string, index: number, keys: RunnerTokenKeys): string {
  const block = runnerBlocks(text).find((b) => b.index === index);
  const range = block?.ranges[0];
  if (!range) throw new RunnerError('not_found', `runners[${index}]: no [[runners]] table with that position in the text`);
  const part = text.slice(range.start, range.end);
  const headerEnd = part.indexOf('\n', part.search(/^[ \t]*\[\[[ \t]*runners[ \t]*\]\]/m)) + 1;
  const sub = part.slice(headerEnd).search(/^[ \t]*\[/m);
  const ownEnd = sub < 0 ? part.length : headerEnd + sub;
  let own = part.slice(headerEnd, ownEnd);
  const indent = /^([ \t]*)[A-Za-z_"]/m.exec(own)?.[1] ?? '  ';
  const values: [string, string | undefined][] = [
    ['token', tomlString(keys.token)],
    ['token_obtained_at', tomlDate(keys.obtainedAt)],
    ['token_expires_at', keys.expiresAt ? tomlDate(keys.expiresAt) : undefined],
  ];
  let after = -1;
  for (const [key, value] of values) {
    const re = new RegExp(`^([ \\t]*)${key}[ \\t]*=[^\\n]*(\\n|$)`, 'm');
    const m = re.exec(own);
    if (m) {
      const line = value === undefined ? '' : `${m[1]}${key} = ${value}${m[2]}`;
      own = own.slice(0, m.index) + line + own.slice(m.index + m[0].length);
      after = value === undefined ? m.index : m.index + line.length;
    } else if (value !== undefined) {
      const at = after >= 0 ? after : 0;
      const line = `${indent}${key} = ${value}\n`;
      const prefix = own.slice(0, at);
      own = prefix + (prefix !== '' && !prefix.endsWith('\n') ? '\n' : '') + line + own.slice(at);
      after = at + line.length + (prefix !== '' && !prefix.endsWith('\n') ? 1 : 0);
    }
  }
  return text.slice(0, range.start) + part.slice(0, headerEnd) + own + part.slice(ownEnd) + text.slice(range.end);
}

/** What {@link resetRunnerToken} needs. */
export interface ResetTokenOptions {
  configFile: string;
  /** The entry as loaded (its url, token, id). */
  runner: Pick<RunnerEntry, 'url' | 'token' | 'id' | 'name'>;
  systemId?: string;
  info?: RunnerInfo;
  /** Now, ms (token_obtained_at). */
  now: number;
  env?: Env;
  logger?: Logger;
}

/**
 * Resets a runner's token with GitLab (`POST runners/reset_authentication_token`) and writes the new token, its
 * `token_obtained_at` and `token_expires_at` into the config file atomically. The entry is found again in the file
 * as it is now (by URL and token), so edits made since it was loaded are kept.
 */
export async function resetRunnerToken(o: ResetTokenOptions): Promise<RunnerCredentials> {
  const client = new GitLabClient({
    url: o.runner.url,
    token: o.runner.token,
    ...(o.systemId ? { systemId: o.systemId } : {}),
    info: o.info ?? runnerInfo({ version: '0.0.0' }),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const creds = await client.resetToken();
  if (!creds.token) throw new RunnerError('internal', `resetting the token of runner ${shortToken(o.runner.token)}: GitLab returned no token`);
  await saveRunnerToken(o.configFile, o.runner, { token: creds.token, obtainedAt: new Date(o.now), expiresAt: creds.tokenExpiresAt }, o.env);
  return creds;
}

/** Writes new token keys for the entry with `runner`'s URL and token into the config file (atomically). */
export async function saveRunnerToken(configFile: string, runner: Pick<RunnerEntry, 'url' | 'token'>, keys: RunnerTokenKeys, env: Env = process.env): Promise<void> {
  const loaded = await loadConfig(configFile, { env });
  const all = loaded.config?.runners ?? [];
  const index = all.findIndex((r) => r.url === runner.url && r.token === runner.token);
  const text = await readConfigText(configFile);
  if (index < 0 || runnerBlocks(text).length !== all.length) {
    throw new RunnerError('not_found', `${configFile}: the runner ${shortToken(runner.token)} (${runner.url}) is no longer in the file; new token ${shortToken(keys.token)} not saved`);
  }
  await writeConfigText(configFile, setRunnerTokenKeys(text, index, keys));
}

/** When a runner's token is due for a reset, ms since the epoch; undefined when it does not expire. */
export function tokenResetAt(r: Pick<RunnerEntry, 'tokenObtainedAt' | 'tokenExpiresAt'>, loadedAt: number): number | undefined {
  if (r.tokenExpiresAt === undefined || r.tokenExpiresAt <= 0) return undefined;
  const from = r.tokenObtainedAt !== undefined && r.tokenObtainedAt > 0 && r.tokenObtainedAt < r.tokenExpiresAt ? r.tokenObtainedAt : Math.min(loadedAt, r.tokenExpiresAt);
  return from + TOKEN_RESET_FACTOR * (r.tokenExpiresAt - from);
}

/** Options of {@link TokenRotation}. */
export interface TokenRotationOptions {
  configFile: string;
  clock: Clock;
  logger: Logger;
  env: Env;
  systemId: () => string;
  version: { version: string; revision: string };
  /** Called after a new token was written (the manager reloads the file and keeps serving with it). */
  onRotated: () => Promise<void>;
  /** Told about each reset call's outcome (metrics). */
  onResult?: (ok: boolean) => void;
}

/**
 * Automatic token rotation of the daemon: each runner whose token has an expiry is reset at 75 % of its lifetime
 * (`token_obtained_at` → `token_expires_at`), the new token is written to config.toml and the manager reloads it.
 * `FF_DISABLE_AUTOMATIC_TOKEN_ROTATION` on a runner leaves its token alone (a warning once it is due). A failed
 * reset is retried after a minute, or sooner when the token expires before that.
 */
export class TokenRotation {
  private runners: readonly RunnerEntry[] = [];
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly loadedAt = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private readonly warned = new Set<string>();

  constructor(private readonly o: TokenRotationOptions) {}

  /** The runners of the config as loaded now (start and every reload). */
  update(runners: readonly RunnerEntry[]): void {
    this.runners = runners;
    const now = this.o.clock.now();
    for (const r of runners) if (!this.loadedAt.has(r.token)) this.loadedAt.set(r.token, now);
    this.arm();
  }

  /** Stops the timer; resolves when a reset under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    this.timer = undefined;
    await this.running;
  }

  private dueAt(r: RunnerEntry): number | undefined {
    const at = tokenResetAt(r, this.loadedAt.get(r.token) ?? this.o.clock.now());
    if (at === undefined) return undefined;
    return Math.max(at, this.retryAt.get(r.token) ?? 0);
  }

  private arm(): void {
    this.timer?.clear();
    this.timer = undefined;
    if (this.stopped || this.running) return;
    const due = this.runners.map((r) => this.dueAt(r)).filter((t): t is number => t !== undefined && !this.warned.has(String(t)));
    if (due.length === 0) return;
    const wait = Math.min(...due) - this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.arm();
      });
    }, Math.min(Math.max(0, wait), MAX_TIMER_MS));
  }

  private async tick(): Promise<void> {
    const now = this.o.clock.now();
    for (const r of this.runners) {
      const at = this.dueAt(r);
      if (at === undefined || at > now || this.stopped) continue;
      const log = this.o.logger.child({ runner: shortToken(r.token), ...(r.name ? { runner_name: r.name } : {}) });
      if (isFeatureFlagOn('FF_DISABLE_AUTOMATIC_TOKEN_ROTATION', r.featureFlags)) {
        if (!this.warned.has(String(at))) log.warn('the runner token is due for rotation but FF_DISABLE_AUTOMATIC_TOKEN_ROTATION is set; reset it by hand ("runner reset-token")', { token_expires_at: new Date(r.tokenExpiresAt!).toISOString() });
        this.warned.add(String(at));
        continue;
      }
      try {
        log.info('rotating the runner token', { token_expires_at: new Date(r.tokenExpiresAt!).toISOString() });
        const creds = await resetRunnerToken({
          configFile: this.o.configFile,
          runner: r,
          systemId: this.o.systemId(),
          info: runnerInfo({ version: this.o.version.version, revision: this.o.version.revision, shell: r.shell, labels: r.labels }),
          now: this.o.clock.now(),
          env: this.o.env,
          logger: log,
        });
        this.o.onResult?.(true);
        this.loadedAt.set(creds.token, this.o.clock.now());
        // Until the reload brings the entry from the file, the rotated one stands in (never reset the old token again).
        const rotated: RunnerEntry = { ...r, token: creds.token, tokenObtainedAt: this.o.clock.now(), tokenExpiresAt: creds.tokenExpiresAt?.getTime() };
        this.runners = this.runners.map((x) => (x === r ? rotated : x));
        log.info('runner token rotated; config saved', { new_token: shortToken(creds.token), ...(creds.tokenExpiresAt ? { token_expires_at: creds.tokenExpiresAt.toISOString() } : {}) });
        await this.o.onRotated();
      } catch (err) {
        this.o.onResult?.(false);
        const retry = Math.min(this.o.clock.now() + 60_000, Math.max(this.o.clock.now() + 5000, (r.tokenExpiresAt ?? 0) - 1000));
        this.retryAt.set(r.token, retry);
        log.error('rotating the runner token failed; retrying', { error: toRunnerError(err).message, retry_at: new Date(retry).toISOString() });
      }
    }
  }
}
