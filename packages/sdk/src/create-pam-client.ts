import type { AccountsCacheOptions } from './client/accounts-cache.js'
import type { PamTokenCacheOptions } from './client/bearer-token-source.js'
import { httpOptionsFrom } from './client/from-client-config.js'
import { PamClient } from './client/pam-client.js'
import type { ClientConfig } from './config/client-config.js'
import { NoConfigurationFile } from './config/config-error.js'
import { loadClientConfig } from './config/load-client-config.js'
import type { CredentialProvider } from './credentials/credential-provider.js'
import { fromDefaultChain } from './credentials/from-default-chain.js'
import { ConfigurationError } from './errors.js'
import type { HttpClientOptions } from './http/client-options.js'
import { createHttpClient } from './http/http-client.js'

export interface CreatePamClientOptions {
  /** The IDaaS client configuration file; else `CLOUD_IDAAS_CONFIG_PATH`, else `~/.cloud_idaas/client-config.json`. */
  configPath?: string | undefined
  /** Explicit credentials: the first link of the default chain. */
  credentials?: CredentialProvider | undefined
  /** Without a configuration file, or to override it. */
  instanceId?: string | undefined
  endpoint?: string | undefined
  /** HTTP options (CA bundle, retries, circuit breaker, …) over the configuration's timeouts. */
  http?: HttpClientOptions | undefined
  tokenCache?: PamTokenCacheOptions | undefined
  /** How long `getAccounts()` serves its list from memory (`ttlSeconds`, default 300; 0 disables). */
  accountsCache?: AccountsCacheOptions | undefined
  env?: NodeJS.ProcessEnv | undefined
}

/**
 * A `PamClient` from the IDaaS client configuration, unchanged: the instance, the developer API
 * endpoint and the `httpConfiguration` timeouts come from the file, and access tokens from the
 * default credential chain (explicit credentials → environment → OIDC token file → the file's
 * `authnConfiguration`). The same code runs against IDaaS and against strongroom.
 *
 * @example
 * ```ts
 * import { createPamClient } from '@strongroom/sdk'
 * await using pam = await createPamClient()
 * const apiKey = await pam.getApiKey('my-credential')
 * ```
 */
export async function createPamClient(options: CreatePamClientOptions = {}): Promise<PamClient> {
  const env = options.env ?? process.env
  let config: ClientConfig | undefined
  try {
    config = await loadClientConfig({ path: options.configPath, env })
  } catch (err) {
    // Without a file, everything the file would say must be given.
    if (
      !(err instanceof NoConfigurationFile) ||
      options.instanceId === undefined ||
      options.endpoint === undefined
    ) {
      throw err
    }
  }
  const instanceId = options.instanceId ?? config?.idaasInstanceId
  const endpoint = options.endpoint ?? config?.developerApiEndpoint
  if (instanceId === undefined || endpoint === undefined) {
    const missing = instanceId === undefined ? 'idaasInstanceId' : 'developerApiEndpoint'
    throw new ConfigurationError(
      `${config?.source ?? 'the client configuration'}: ${missing} is required to use the PAM client`,
      {
        field: missing,
      },
    )
  }
  const http = createHttpClient({
    env,
    ...(config ? httpOptionsFrom(config) : {}),
    ...options.http,
  })
  const credentials = fromDefaultChain({ credentials: options.credentials, http, env, config })
  return new PamClient({
    credentials,
    instanceId,
    endpoint,
    http,
    tokenCache: options.tokenCache,
    accountsCache: options.accountsCache,
  })
}
