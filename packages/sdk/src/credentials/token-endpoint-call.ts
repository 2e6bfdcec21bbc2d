import type { HttpClient } from '../http/http-client.js'
import type { TokenEndpointCall } from './credential-provider.js'

/**
 * The token endpoint through the SDK's HTTP layer: a form POST, so its timeouts, retries, CA
 * bundle and proxy apply, and OAuth error bodies become `PamError`s with the server's `error` code
 * and request id.
 *
 * A token request is safe to repeat (429, 502–504, a connection lost after sending), except one
 * authenticated by a client assertion (RFC 7523: `client_secret_jwt`, `private_key_jwt`, a
 * federated token): its `jti` is accepted once, so the same bytes sent again after they reached
 * the server are refused as a replay, audited as a failed client authentication and counted
 * against the client's failure budget. Such a request is sent again only when it was never sent
 * or the server answered 429 or 503 (it was throttled, or its database was down and recorded
 * nothing); after a gateway's 502 or 504 or a connection lost mid-request the call fails, and the
 * next `getToken` signs a new assertion.
 */
export function tokenEndpointCall(http: HttpClient, tokenEndpoint: string): TokenEndpointCall {
  return (form, headers, signal) =>
    http.request('POST', tokenEndpoint, {
      form,
      headers: { accept: 'application/json', ...headers },
      idempotent: !form.has('client_assertion'),
      ...(signal ? { signal } : {}),
    })
}
