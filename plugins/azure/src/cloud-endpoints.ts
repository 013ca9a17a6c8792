import { RunnerError } from '@fleetrunner/common';

/** Where the plugin sends requests and what its tokens are for. */
export interface AzureEndpoints {
  /** Resource Manager, e.g. `https://management.azure.com` (no trailing slash). */
  resourceManager: string;
  /** The token scope, e.g. `https://management.azure.com/.default`. */
  scope: string;
  /** Entra ID authority, e.g. `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** True when the authority is not one of Azure's own (MSAL's instance discovery would fail against it). */
  customAuthority: boolean;
  /** Where the settings came from, for logs and errors. */
  source: string;
}

const CLOUDS: Record<string, { resourceManager: string; audience: string; authorityHost: string }> = {
  azurecloud: { resourceManager: 'https://management.azure.com', audience: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' },
  azureusgovernment: { resourceManager: 'https://management.usgovcloudapi.net', audience: 'https://management.usgovcloudapi.net', authorityHost: 'https://login.microsoftonline.us' },
  azurechinacloud: { resourceManager: 'https://management.chinacloudapi.cn', audience: 'https://management.chinacloudapi.cn', authorityHost: 'https://login.chinacloudapi.cn' },
};
const KNOWN_AUTHORITIES = new Set(Object.values(CLOUDS).map((c) => c.authorityHost));

/** The environment variables read (the convention of Azure Service Operator and azidentity). */
export const ENDPOINT_ENV = ['AZURE_CLOUD', 'AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_RESOURCE_MANAGER_AUDIENCE', 'AZURE_AUTHORITY_HOST'] as const;

function url(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new RunnerError('invalid_argument', `${key}: expected a URL like https://management.azure.com, got ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'https:') throw new RunnerError('invalid_argument', `${key}: must be an https URL (Azure sends bearer tokens over TLS only), got ${JSON.stringify(raw)}`);
  return u.toString().replace(/\/+$/, '');
}

/**
 * The endpoints from the environment, as Azure Service Operator names them: `AZURE_CLOUD` (`AzureCloud`,
 * `AzureUSGovernment`, `AzureChinaCloud`; default AzureCloud) picks a cloud; `AZURE_RESOURCE_MANAGER_ENDPOINT`,
 * `AZURE_RESOURCE_MANAGER_AUDIENCE` and `AZURE_AUTHORITY_HOST` (azidentity's own variable) override its parts, for
 * private endpoints, Azure Stack and tests. The audience stays the cloud's unless set: a private endpoint of
 * Resource Manager still takes tokens for `https://management.azure.com`.
 */
export function azureEndpoints(env: NodeJS.ProcessEnv): AzureEndpoints {
  const name = (env.AZURE_CLOUD ?? '').trim();
  const cloud = name === '' ? CLOUDS.azurecloud! : CLOUDS[name.toLowerCase().replace(/[^a-z]/g, '')];
  if (!cloud) throw new RunnerError('invalid_argument', `AZURE_CLOUD: expected AzureCloud, AzureUSGovernment or AzureChinaCloud, got ${JSON.stringify(name)}`);
  const resourceManager = url(env, 'AZURE_RESOURCE_MANAGER_ENDPOINT') ?? cloud.resourceManager;
  const audience = url(env, 'AZURE_RESOURCE_MANAGER_AUDIENCE') ?? cloud.audience;
  const authorityHost = url(env, 'AZURE_AUTHORITY_HOST') ?? cloud.authorityHost;
  const set = ENDPOINT_ENV.filter((k) => (env[k] ?? '').trim() !== '');
  return {
    resourceManager,
    scope: `${audience}/.default`,
    authorityHost,
    customAuthority: !KNOWN_AUTHORITIES.has(authorityHost),
    source: set.length > 0 ? set.join(', ') : 'AzureCloud (default)',
  };
}
