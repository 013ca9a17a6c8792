import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RunnerError, mapSettled, nullLogger, systemClock, toRunnerError, type Clock, type Logger } from '@fleetrunner/common';
import {
  GroupLifecycle,
  decreaseGroup,
  decreaseOutcome,
  generateEd25519,
  heartbeatFromKnown,
  increaseCapacity,
  knownInstance,
  planDecrease,
  publicKeyLineOf,
  vanished,
  type CallOptions,
  type CapacityControl,
  type ConnectInfo,
  type ConnectorConfig,
  type DecreaseResult,
  type IncreaseResult,
  type InitSettings,
  type InstanceGroup,
  type InstanceState,
  type InstanceStatus,
  type ProviderInfo,
} from '@fleetrunner/fleeting';
import { parseGceConfig, type GceConfig } from './config.js';
import { computeEndpoint } from './endpoint.js';
import { GceApi, type InstanceView } from './gce-api.js';
import { archOf, instanceState, osOf } from './instance-state.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { withSshKey } from './ssh-keys-metadata.js';
import { VERSION } from './version.js';

/** Options of {@link GceInstanceGroup}. Times are milliseconds. */
export interface GceInstanceGroupOptions {
  /** Retry back-off and key expiry run on it. Default: the wall clock. */
  clock?: Clock;
  /** Default: no logging (init's `logger` option takes precedence). */
  logger?: Logger;
  /** Where the endpoint override and `HOME` come from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Retries of rate-limited and transient calls. Default {@link DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /** How long a key pushed into `ssh-keys` works (its `expireOn`); default 3 600 000. Re-pushed when half is used. */
  keyValidityMs?: number;
  /** listManagedInstances page size; default 500 (GCE's maximum). */
  pageSize?: number;
}

/** The largest zonal managed instance group GCE allows. */
export const MAX_GROUP_SIZE = 1000;

/** What the last update learned about one member. */
interface Known {
  state: InstanceState;
  /** The VM id first seen under this name: a different one later means the group recreated the VM. */
  firstId: string;
  lastError: string;
}

/** What ConnectInfo learned from instances.get, per VM. */
interface Reached {
  id: string;
  view: InstanceView;
  /** When the key pushed for `user` stops working. */
  keyExpiresAt: number;
  user: string;
}

const DECREASE_CONCURRENCY = 4;

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(1)) : path;
}

/** A managed instance group's target size, up to the largest zonal group. */
function targetSize(name: string): CapacityControl<GceApi> {
  return {
    read: async (api, signal) => {
      const group = await api.getGroup(signal);
      if (!group) throw new RunnerError('not_found', `instance group "${name}" no longer exists`);
      return { current: group.targetSize, max: MAX_GROUP_SIZE };
    },
    set: (api, target, signal) => api.resize(target, signal),
    limit: (max, current) => `the largest group size ${max} (target size was ${current})`,
  };
}

/**
 * An instance group over a Compute Engine zonal managed instance group: capacity through resize and
 * deleteInstances, states from listManagedInstances, logins through a key in the instance's `ssh-keys` metadata.
 * See the package README for plugin_config.
 */
export class GceInstanceGroup implements InstanceGroup {
  private readonly life = new GroupLifecycle<GceApi>();
  private config!: GceConfig;
  private connector!: ConnectorConfig;
  private logger: Logger;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private readonly retry: RetryPolicy;
  private loginKey: { privateKey: Uint8Array; publicLine: string } | undefined;
  private known = new Map<string, Known>();
  private readonly reached = new Map<string, Reached>();
  /** Serializes key pushes per instance (setMetadata needs the current fingerprint). */
  private readonly pushes = new Map<string, Promise<Reached>>();

  constructor(private readonly options: GceInstanceGroupOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nullLogger;
    this.env = options.env ?? process.env;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  async init(settings: InitSettings, options: CallOptions & { logger?: Logger } = {}): Promise<ProviderInfo> {
    this.life.starting(options.signal);
    const warnings: string[] = [];
    const parsed = parseGceConfig(settings.pluginConfig, warnings);
    const config = parsed.credentialsFile ? { ...parsed, credentialsFile: expandHome(parsed.credentialsFile, this.env) } : parsed;
    if (config.credentialsFile) {
      try {
        JSON.parse(await readFile(config.credentialsFile, 'utf8'));
      } catch (err) {
        throw new RunnerError('invalid_argument', `plugin_config.credentials_file: reading ${config.credentialsFile}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    const endpoint = computeEndpoint(this.env);
    this.logger = (options.logger ?? this.logger).child({ component: 'plugin-googlecloud', group: config.name, zone: config.zone });
    for (const w of warnings) this.logger.warn(w, {});
    this.connector = settings.connector;
    if (!settings.connector.useStaticCredentials) {
      this.loginKey =
        settings.connector.key.length > 0
          ? { privateKey: settings.connector.key, publicLine: publicKeyLineOf(settings.connector.key, 'connector_config key') }
          : ((kp) => ({ privateKey: new TextEncoder().encode(kp.privateKey), publicLine: kp.publicKey.split(' ').slice(0, 2).join(' ') }))(generateEd25519());
    }
    const api = new GceApi({ config, endpoint, clock: this.clock, logger: this.logger, retry: this.retry, pageSize: this.options.pageSize ?? 500 });
    try {
      const group = await api.authorize(options.signal).then(() => api.getGroup(options.signal)).catch((err: unknown) => {
        throw this.credentialsHint(err, config.credentialsFile);
      });
      if (!group) throw new RunnerError('not_found', `plugin_config.name: instance group "${config.name}" not found in project ${config.project} zone ${config.zone}`);
      const members = await api.listManaged(options.signal);
      this.known = new Map(members.map((m) => [m.name, { state: instanceState(m), firstId: m.id, lastError: m.lastError }]));
      this.config = config;
      this.life.opened(api);
      this.logger.info('initialized', { target_size: group.targetSize, instances: members.length, endpoint: endpoint ? `${endpoint.protocol}://${endpoint.apiEndpoint}:${endpoint.port}` : 'default' });
      return { id: `gcp/${config.project}/${config.zone}/${config.name}`, maxSize: MAX_GROUP_SIZE, version: VERSION, buildInfo: '', capabilities: [] };
    } catch (err) {
      await api.close();
      throw RunnerError.wrap('initializing', err);
    }
  }

  /** Auth failures name where the credentials came from. */
  private credentialsHint(err: unknown, file: string | undefined): unknown {
    const e = toRunnerError(err);
    const noCredentials = /Could not load the default credentials|Unable to detect a Project Id/.test(e.message);
    if (e.code !== 'auth_failed' && !noCredentials) return err;
    const from = file !== undefined ? `plugin_config.credentials_file (${file})` : 'Application Default Credentials (plugin_config.credentials_file is not set: GOOGLE_APPLICATION_CREDENTIALS, ~/.config/gcloud/application_default_credentials.json, the metadata server)';
    return new RunnerError('auth_failed', `${e.message} (credentials from ${from})`, { cause: err });
  }

  async update(options: CallOptions = {}): Promise<InstanceStatus[]> {
    const api = this.ready(options.signal);
    const members = await api.listManaged(options.signal).catch((err: unknown) => {
      const e = toRunnerError(err);
      if (e.code === 'not_found') throw new RunnerError('not_found', `instance group "${this.config.name}" no longer exists in project ${this.config.project} zone ${this.config.zone}`, { cause: err });
      throw err;
    });
    const next = new Map<string, Known>();
    const out: InstanceStatus[] = [];
    for (const m of members) {
      const before = this.known.get(m.name);
      const firstId = before?.firstId || m.id;
      let state = instanceState(m);
      // Recreated under the same name after its VM was deleted out of band: not the instance the host knows.
      if (firstId !== '' && m.id !== '' && m.id !== firstId && state !== 'deleting') state = 'timeout';
      if (before?.state !== state && state === 'timeout') this.logger.warn('instance broken; the host replaces it', { instance: m.name, action: m.currentAction, status: m.instanceStatus, error: m.lastError });
      else if (m.lastError && m.lastError !== before?.lastError) this.logger.warn('creating instance failed (the group retries)', { instance: m.name, error: m.lastError });
      next.set(m.name, { state, firstId, lastError: m.lastError });
      out.push({ id: m.name, state });
    }
    // A member that left the group between two updates is reported gone once.
    out.push(...vanished(this.known, next));
    for (const name of this.reached.keys()) if (!next.has(name)) this.reached.delete(name);
    this.known = next;
    return out;
  }

  async increase(delta: number, options: CallOptions = {}): Promise<IncreaseResult> {
    return increaseCapacity(delta, this.life, options.signal, this.logger, targetSize(this.config.name));
  }

  async decrease(ids: readonly string[], options: CallOptions = {}): Promise<DecreaseResult> {
    return decreaseGroup(ids, this.life, options.signal, async (api) => {
      const { succeeded, failures, send } = planDecrease(ids, this.known, this.where());
      if (send.length > 0) {
        try {
          // One call for all; GCE refuses the whole call when one name is not a member (any more).
          await api.deleteInstances(send, false, options.signal);
          succeeded.push(...send);
        } catch (err) {
          if (send.length === 1 || toRunnerError(err).code !== 'invalid_argument') {
            failures.push(...send.map((id) => this.deleteFailure(id, err)));
          } else {
            // Find out which one: each on its own.
            const results = await mapSettled(send, DECREASE_CONCURRENCY, async (id) => {
              await api.deleteInstances([id], false, options.signal);
              return id;
            });
            results.forEach((r, i) => (r.status === 'fulfilled' ? succeeded.push(r.value) : failures.push(this.deleteFailure(send[i]!, r.reason))));
          }
        }
      }
      for (const id of succeeded) this.reached.delete(id);
      return decreaseOutcome(succeeded, failures, this.logger, this.known);
    });
  }

  private deleteFailure(id: string, err: unknown): RunnerError {
    const e = toRunnerError(err);
    if (e.code === 'invalid_argument' && /not a member|not found/i.test(e.message)) return new RunnerError('instance_not_found', `${id}: ${e.message}`, { cause: err });
    return RunnerError.wrap(id, err);
  }

  async connectInfo(id: string, options: CallOptions = {}): Promise<ConnectInfo> {
    const api = this.ready(options.signal);
    const k = knownInstance(this.known, id, this.where());
    const c = this.connector;
    const reached = await this.reach(api, id, k, options.signal);
    const view = reached.view;
    if (!(view.internalIp || view.externalIp)) throw new RunnerError('unavailable', `instance ${id} has no address yet (status ${view.status || 'none'})`);
    const os = c.os || osOf(view.disks);
    const protocol = os === 'windows' && !c.os && c.protocol === 'ssh' && !c.useStaticCredentials ? 'winrm' : c.protocol;
    const info: ConnectInfo = {
      ...c,
      id,
      os,
      arch: c.arch || archOf(view.disks.find((d) => d.architecture)?.architecture ?? ''),
      protocol,
      username: c.username || (os === 'windows' ? 'Administrator' : 'runner'),
      internalAddr: view.internalIp,
      externalAddr: view.externalIp,
    };
    if (c.useStaticCredentials) return info;
    if (protocol !== 'ssh') {
      throw new RunnerError(
        'invalid_argument',
        `instance ${id} runs ${os} over ${protocol}: this plugin does not provision Windows passwords (windows-keys); set connector_config.use_static_credentials = true with username and password`,
      );
    }
    const pushed = await this.pushKey(api, id, info.username, options.signal);
    return { ...info, key: this.loginKey!.privateKey, expiresAt: pushed.keyExpiresAt };
  }

  /** The VM behind a member, read once per VM (a recreated VM is read again). */
  private async reach(api: GceApi, id: string, k: Known, signal: AbortSignal | undefined): Promise<Reached> {
    const cached = this.reached.get(id);
    if (cached && cached.id === k.firstId && (cached.view.internalIp || cached.view.externalIp)) return cached;
    const view = await api.getInstance(id, signal).catch((err: unknown) => {
      if (toRunnerError(err).code === 'not_found') throw new RunnerError('instance_not_found', `instance ${id}: ${toRunnerError(err).message}`, { cause: err });
      throw err;
    });
    const r: Reached = { id: view.id, view, keyExpiresAt: 0, user: '' };
    this.reached.set(id, r);
    return r;
  }

  /**
   * Makes sure the login key is in the instance's `ssh-keys` metadata for `user` (instances.setMetadata with the
   * current fingerprint, retried on a stale one), re-pushed once half its validity is used. One push per instance at
   * a time.
   */
  private async pushKey(api: GceApi, id: string, user: string, signal: AbortSignal | undefined): Promise<Reached> {
    const validity = this.options.keyValidityMs ?? 3_600_000;
    const r = this.reached.get(id)!;
    if (r.user === user && r.keyExpiresAt - this.clock.now() > validity / 2) return r;
    const running = this.pushes.get(id);
    if (running) return running.then(() => this.pushKey(api, id, user, signal));
    const push = (async (): Promise<Reached> => {
      for (let attempt = 1; ; attempt++) {
        const view = attempt === 1 && r.view.metadata.fingerprint ? r.view : await api.getInstance(id, signal);
        const expiresAt = this.clock.now() + validity;
        const metadata = withSshKey(view.metadata, user, this.loginKey!.publicLine, expiresAt);
        try {
          await api.setMetadata(id, metadata, signal);
        } catch (err) {
          const e = toRunnerError(err);
          if (e.details?.httpStatus === 412 && attempt < 4) {
            this.logger.debug('metadata changed meanwhile; reading it again', { instance: id });
            continue;
          }
          throw e;
        }
        const next: Reached = { id: view.id, view: { ...view, metadata: { ...metadata, fingerprint: '' } }, keyExpiresAt: expiresAt, user };
        this.reached.set(id, next);
        return next;
      }
    })();
    this.pushes.set(id, push);
    try {
      return await push;
    } finally {
      this.pushes.delete(id);
    }
  }

  async heartbeat(id: string, options: CallOptions = {}): Promise<void> {
    this.ready(options.signal);
    heartbeatFromKnown(this.known, id, this.where());
  }

  async shutdown(_options: CallOptions = {}): Promise<void> {
    await this.life.shutDown()?.close();
  }

  private ready(signal: AbortSignal | undefined): GceApi {
    return this.life.ready(signal);
  }

  /** This group in messages. */
  private where(): string {
    return `instance group "${this.config.name}"`;
  }
}
