import { createProof } from '../proof/create-proof.js'
import { invalidArgument } from '../proof/proof-error.js'
import type { ProofKey } from '../proof/proof-key.js'

/** A bound token: a `ScopedToken`/`SessionToken`, or its `accessToken` string. */
export type BoundTokenInput = string | { readonly accessToken: string }

/** The request a bound token is presented with. */
export interface BoundRequest {
  /** The HTTP method (`GET`, `POST`…). */
  method: string
  /** The full URL (the proof's `htu` is it without query and fragment). */
  url: string | URL
  /** The nonce the server last sent in a `DPoP-Nonce` header, when it asked for one (RFC 9449 §8). */
  nonce?: string | undefined
}

/** The two headers of a request with a bound token. */
export interface BoundRequestHeaders {
  /** `DPoP <access token>`. Secret: do not log it. */
  authorization: string
  /** A fresh DPoP proof for this one request, signed by the key, with the token's hash (`ath`). */
  dpop: string
}

/**
 * The `Authorization` and `DPoP` headers for ONE request with a bound token: the token under the
 * `DPoP` scheme and a new proof of possession of `key` for this method and URL. Call it again for
 * every request: a proof is accepted once only.
 *
 * @example
 * ```ts
 * const url = `${endpoint}/v2/${instanceId}/accounts`
 * const headers = await boundRequestHeaders(token, key, { method: 'GET', url })
 * const response = await fetch(url, { headers })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
export async function boundRequestHeaders(
  token: BoundTokenInput,
  key: ProofKey,
  request: BoundRequest,
): Promise<BoundRequestHeaders> {
  const accessToken = accessTokenOf(token)
  const dpop = await createProof(key, {
    method: request.method,
    url: request.url,
    accessToken,
    nonce: request.nonce,
  })
  return { authorization: `DPoP ${accessToken}`, dpop }
}

function accessTokenOf(token: BoundTokenInput): string {
  const value = typeof token === 'string' ? token : (token as { accessToken?: unknown } | null)?.accessToken
  if (typeof value !== 'string' || value === '')
    throw invalidArgument('token must be a bound token or a non-empty access token string')
  return value
}
