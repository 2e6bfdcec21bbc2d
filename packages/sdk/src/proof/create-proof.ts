import { randomBytes } from 'node:crypto'
import { accessTokenHash } from '@strongroom/dpop'
import { SignJWT } from 'jose'
import { invalidArgument } from './proof-error.js'
import { type ProofKey, privateKeyOf } from './proof-key.js'
import { requestHtm, requestHtu } from './request-target.js'

export interface CreateProofOptions {
  /** The HTTP method of the request the proof goes with (`GET`, `POST`…). */
  method: string
  /** The request URL; query and fragment are left out of `htu`. */
  url: string | URL
  /** The access token sent with the request, hashed into `ath`; omit at the token endpoint. */
  accessToken?: string | undefined
  /** The nonce the server last sent in a `DPoP-Nonce` header, when it asked for one. */
  nonce?: string | undefined
  /** The time to write into `iat`, in milliseconds since the epoch; `Date.now()` by default. */
  now?: number | undefined
}

/**
 * A DPoP proof for one request (RFC 9449 §4.2): a compact JWS with header `typ: dpop+jwt`, the
 * key's `alg` and its public `jwk`, and claims `jti` (128 random bits), `htm`, `htu` (the URL
 * without query and fragment, normalised per §4.3), `iat`, `ath` when an access token is given
 * and `nonce` when one is. Make a new proof for every request: a resource server refuses a `jti`
 * it has seen.
 *
 * @example
 * ```ts
 * const proof = await createProof(key, { method: 'GET', url: 'https://api.example/v1/things', accessToken })
 * await fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop: proof } })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export async function createProof(key: ProofKey, options: CreateProofOptions): Promise<string> {
  const privateKey = privateKeyOf(key)
  const now = options.now ?? Date.now()
  if (!Number.isFinite(now)) throw invalidArgument('now must be a finite number of milliseconds')
  if (
    options.accessToken !== undefined &&
    (typeof options.accessToken !== 'string' || options.accessToken === '')
  )
    throw invalidArgument('accessToken must be a non-empty string')
  if (options.nonce !== undefined && (typeof options.nonce !== 'string' || options.nonce === ''))
    throw invalidArgument('nonce must be a non-empty string')
  const claims: Record<string, unknown> = {
    jti: randomBytes(16).toString('base64url'),
    htm: requestHtm(options.method),
    htu: requestHtu(options.url),
    iat: Math.floor(now / 1000),
    ...(options.accessToken === undefined ? {} : { ath: accessTokenHash(options.accessToken) }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
  }
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: key.alg, jwk: { ...key.publicJwk } })
    .sign(privateKey)
}
