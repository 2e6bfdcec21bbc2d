import type { CloudCredentialsCacheOptions } from '../cloud/cloud-credentials-cache.js'
import { normaliseEndpoint, warnIfPlainHttp } from '../config/endpoint-url.js'
import type { CredentialProvider } from '../credentials/credential-provider.js'
import type { HttpClientOptions } from '../http/client-options.js'
import { createHttpClient, type HttpClient } from '../http/http-client.js'
import { invalidArgument } from '../http/invalid-argument.js'
import type { AccountsCacheOptions } from './accounts-cache.js'
import type { PamTokenCacheOptions } from './bearer-token-source.js'

/** Options of `new PamClient(…)`. */
export interface PamClientOptions {
  /** Where access tokens for the developer API come from (`fromClientSecret(…)`, …). */
  credentials: CredentialProvider
  /** The IDaaS instance id (`idaas_…`), the `{instanceId}` of every path. */
  instanceId: string
  /**
   * The developer API's base URL, e.g. `https://eiam-developerapi.cn-hangzhou.aliyuncs.com` or
   * `http://127.0.0.1:8080`. Without a scheme, `https://` is assumed (as the official SDKs do); a
   * path prefix is kept.
   */
  endpoint: string | URL
  /**
   * The HTTP client to use (share the one the credential provider uses to pool connections), or
   * options for a new one (timeouts, CA bundle, retries, an injected `fetch`, …).
   */
  http?: HttpClient | HttpClientOptions | undefined
  /** Clock and timers of the token cache a cacheable provider is wrapped in (tests inject them). */
  tokenCache?: PamTokenCacheOptions | undefined
  /** How long `getAccounts()` serves its list from memory (`ttlSeconds`, default 300; 0 disables) and its clock. */
  accountsCache?: AccountsCacheOptions | undefined
  /** The clock of the cache `getCloudCredentials()` answers from (tests inject one). */
  cloudCredentialsCache?: CloudCredentialsCacheOptions | undefined
}

export interface ResolvedPamClientOptions {
  readonly credentials: CredentialProvider
  readonly instanceId: string
  readonly endpoint: string
  readonly http: HttpClient
}

/** Checks the options (a mistake is a `TypeError` with a `code`) and creates the HTTP client. */
export function resolvePamClientOptions(options: PamClientOptions): ResolvedPamClientOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('PamClient needs an options object')
  const { credentials, instanceId } = options
  if (typeof credentials?.getToken !== 'function') {
    throw invalidArgument('credentials must be a CredentialProvider (an object with getToken())')
  }
  if (typeof instanceId !== 'string' || instanceId.trim() === '') {
    throw invalidArgument('instanceId must be a non-empty string')
  }
  const written = options.endpoint instanceof URL ? options.endpoint.href : options.endpoint
  if (typeof written !== 'string') throw invalidArgument('endpoint must be a URL string')
  const endpoint = normaliseEndpoint(written)
  if (!endpoint.ok) throw invalidArgument(`endpoint ${endpoint.rule}`)
  warnIfPlainHttp(endpoint.url)
  return { credentials, instanceId, endpoint: endpoint.url, http: httpClient(options.http) }
}

function httpClient(http: HttpClient | HttpClientOptions | undefined): HttpClient {
  if (http !== undefined && typeof (http as Partial<HttpClient>).request === 'function')
    return http as HttpClient
  return createHttpClient(http as HttpClientOptions | undefined)
}
