import { DEFAULT_SCOPE } from '../config/client-config.js'
import type { AccessToken } from '../token-cache/access-token.js'
import type { ClientAuthentication } from './client-authentication.js'
import type { TokenEndpointOptions } from './credential-provider.js'
import { accessTokenFrom } from './token-response.js'

/**
 * The client credentials grant (RFC 6749 §4.4) with one of the client authentication methods.
 * `client_id` is always sent, also with Basic authentication, as the IDaaS SDKs do.
 */
export async function clientCredentialsGrant(
  options: TokenEndpointOptions,
  authenticate: ClientAuthentication,
  signal?: AbortSignal,
): Promise<AccessToken> {
  const now = options.now ?? Date.now
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: options.clientId,
    scope: options.scope ?? DEFAULT_SCOPE,
  })
  const headers: Record<string, string> = {}
  const requestedAt = now()
  await authenticate(form, headers, {
    clientId: options.clientId,
    tokenEndpoint: options.tokenEndpoint,
    now: requestedAt,
  })
  return accessTokenFrom(await options.call(form, headers, signal), requestedAt)
}
