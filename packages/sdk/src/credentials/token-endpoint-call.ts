import type { HttpClient } from '../http/http-client.js'
import type { TokenEndpointCall } from './credential-provider.js'

/**
 * The token endpoint through the SDK's HTTP layer: a form POST, so its timeouts, retries (429 and
 * 502–504; a token request is safe to repeat), CA bundle and proxy apply, and OAuth error bodies
 * become `PamError`s with the server's `error` code and request id.
 */
export function tokenEndpointCall(http: HttpClient, tokenEndpoint: string): TokenEndpointCall {
  return (form, headers, signal) =>
    http.request('POST', tokenEndpoint, {
      form,
      headers: { accept: 'application/json', ...headers },
      idempotent: true,
      ...(signal ? { signal } : {}),
    })
}
