import type { ClientConfig } from '../config/client-config.js'
import type { CredentialProvider } from '../credentials/credential-provider.js'
import { ConfigurationError } from '../errors.js'
import type { HttpClientOptions } from '../http/client-options.js'
import type { HttpClient } from '../http/http-client.js'
import type { AccountsCacheOptions } from './accounts-cache.js'
import type { PamTokenCacheOptions } from './bearer-token-source.js'
import type { PamClientOptions } from './pam-client-options.js'

/** Options of `PamClient.fromClientConfig`: what the configuration file does not say. */
export interface PamClientConfigOptions {
  credentials: CredentialProvider
  /**
   * An HTTP client (used as it is: the configuration's timeouts are then not applied) or options
   * for a new one (the configuration's `connectTimeout`/`readTimeout` fill in the ones not given).
   */
  http?: HttpClient | HttpClientOptions | undefined
  tokenCache?: PamTokenCacheOptions | undefined
  accountsCache?: AccountsCacheOptions | undefined
}

/**
 * The HTTP options a client configuration sets: its timeouts, and `unsafeIgnoreSslCert`, applied
 * where the Python SDK ignores it (docs/security-model.md; a process warning says so).
 */
export function httpOptionsFrom(config: ClientConfig): HttpClientOptions {
  return {
    connectTimeout: config.httpConfiguration.connectTimeout,
    readTimeout: config.httpConfiguration.readTimeout,
    insecureSkipTlsVerify: config.httpConfiguration.unsafeIgnoreSslCert,
  }
}

/** `PamClientOptions` from a client configuration; a missing `developerApiEndpoint` is a `ConfigurationError`. */
export function fromClientConfigOptions(
  config: ClientConfig,
  options: PamClientConfigOptions,
): PamClientOptions {
  if (config.developerApiEndpoint === undefined) {
    throw new ConfigurationError(`${config.source}: developerApiEndpoint is required to use the PAM client`, {
      field: 'developerApiEndpoint',
    })
  }
  const given = options.http
  const http =
    given !== undefined && typeof (given as Partial<HttpClient>).request === 'function'
      ? given
      : { ...httpOptionsFrom(config), ...(given as HttpClientOptions | undefined) }
  return {
    credentials: options.credentials,
    instanceId: config.idaasInstanceId,
    endpoint: config.developerApiEndpoint,
    http,
    tokenCache: options.tokenCache,
    accountsCache: options.accountsCache,
  }
}
