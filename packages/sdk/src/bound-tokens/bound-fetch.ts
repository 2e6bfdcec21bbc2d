import type { FetchLike } from '../http/fetch-like.js'
import type { ProofKey } from '../proof/proof-key.js'
import { type BoundTokenInput, boundRequestHeaders } from './bound-request-headers.js'

export interface BoundFetchOptions {
  /** The `fetch` to send with; the platform's by default. */
  fetch?: FetchLike | undefined
}

/** A `fetch` that presents a bound token on every request. */
export type BoundFetch = (url: string | URL, init?: RequestInit) => Promise<Response>

/**
 * A `fetch` that adds `Authorization: DPoP <token>` and a fresh `DPoP` proof (for the request's
 * method and URL) to every request it sends, over the headers given. It does not retry: a server
 * asking for a nonce (`DPoP-Nonce`) answers 401, and the caller sends again with
 * `boundRequestHeaders(…, { nonce })`.
 *
 * @example
 * ```ts
 * const token = await pam.getScopedToken({ scope: 'urn:cloud:idaas:pam|account:read', key })
 * const boundFetchFn = boundFetch(token, key)
 * const response = await boundFetchFn(`${endpoint}/v2/${instanceId}/accounts`)
 * ```
 */
export function boundFetch(
  token: BoundTokenInput,
  key: ProofKey,
  options: BoundFetchOptions = {},
): BoundFetch {
  const send: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init))
  return async (url, init = {}) => {
    const target = typeof url === 'string' ? url : url.href
    const bound = await boundRequestHeaders(token, key, { method: init.method ?? 'GET', url: target })
    const headers = new Headers(init.headers)
    headers.set('authorization', bound.authorization)
    headers.set('dpop', bound.dpop)
    // Not followed unless the caller asks: a redirect would carry the proof, and with a fetch that
    // keeps `Authorization` across origins the token too, to wherever the answer points.
    return send(target, { redirect: 'manual', ...init, headers })
  }
}
