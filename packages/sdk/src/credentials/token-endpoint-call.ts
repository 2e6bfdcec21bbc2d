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
 * against the client's failure budget. The server records the `jti` in a write of its own before
 * it issues the token, and a 503 may come after that write (the database locked or a conflict on
 * a later one), as may a gateway's 502 or 504 and a connection lost mid-request. Such a request
 * is therefore `singleUse`: sent again only when it never left (a network failure before
 * sending) or after a 429, which the token endpoint answers either before reading the credentials
 * (the address's failure budget) or after they failed (the client id's), never after recording a
 * `jti`. Otherwise the call fails, and the next `getToken` signs a new assertion.
 */
export function tokenEndpointCall(http: HttpClient, tokenEndpoint: string): TokenEndpointCall {
  return (form, headers, signal) =>
    http.request('POST', tokenEndpoint, {
      form,
      headers: { accept: 'application/json', ...headers },
      idempotent: !form.has('client_assertion'),
      singleUse: form.has('client_assertion'),
      ...(signal ? { signal } : {}),
    })
}
