import { createHash } from 'node:crypto'
import { jwkThumbprint } from '../../crypto/jwk.js'
import type { BindablePublicJwk } from './confirmation-for.js'
import { PROOF_ALGORITHMS, type ProofAlgorithm, parseSignedProof } from './proof-jws.js'
import { ProofRejected } from './proof-rejected.js'
import { normalizedHtm, normalizedHtu } from './request-target.js'

export interface ProofRequestOptions {
  /** The HTTP method of the request that carried the proof. */
  method: string
  /** The absolute URL of that request as the client addressed it (the public one, behind a proxy). */
  url: string
  /** The access token sent with the proof, when there is one: the proof must carry its `ath`. */
  accessToken?: string | undefined
  /** Now, in milliseconds since the epoch. */
  now: number
  /** How far `iat` may be from now, either way, in seconds (60 is a good value). */
  maxAgeSeconds: number
  /**
   * Records the proof's `jti` until `exp` (seconds since the epoch, when the proof leaves the
   * window) and resolves `true` when this is its FIRST use, `false` when it was seen before. One
   * atomic "insert if absent" in a store every node shares.
   */
  seenJti: (jti: string, exp: number) => Promise<boolean>
  /** The nonce this server handed out, when it requires one (RFC 9449 §8). */
  nonce?: string | undefined
  /** The thumbprint the proof's key must have, e.g. the `cnf.jkt` of the token it comes with. */
  expectedJkt?: string | undefined
  /** Algorithms accepted (default ES256, EdDSA, RS256, PS256). */
  algorithms?: readonly ProofAlgorithm[]
}

export interface VerifiedProof {
  /** RFC 7638 thumbprint of the proof's key: the `cnf.jkt` to bind a token to. */
  jkt: string
  publicJwk: BindablePublicJwk
  jti: string
  /** Seconds since the epoch. */
  iat: number
  htm: string
  htu: string
}

/**
 * Checks a DPoP proof (RFC 9449 §4.3) for the request it came with: a compact JWS with
 * `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` (EC P-256, Ed25519 or RSA 2048+)
 * that verifies its signature (`node:crypto`), `htm` and `htu` of this request, `iat` within
 * `maxAgeSeconds` of now either way, `ath` of the access token when one is given, the nonce when
 * one is required, the expected key when one is given, and last a `jti` not seen before. Every
 * refusal is a `ProofRejected` (an `InvalidParameter`) with its `reason`, the field and the rule.
 *
 * @example
 * ```ts
 * const { jkt } = await verifyProofForRequest(request.headers.dpop, {
 *   method: 'POST', url: `${issuer}/oauth2/token`, now: s.now(), maxAgeSeconds: 60, seenJti,
 * })
 * // mint the token with cnf: { jkt }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export async function verifyProofForRequest(
  proof: unknown,
  options: ProofRequestOptions,
): Promise<VerifiedProof> {
  const htm = normalizedHtm(options.method)
  const htu = normalizedHtu(options.url)
  // The request side comes from our own code: a wrong one is a programming mistake, not bad input.
  if (htm === undefined) throw new TypeError('verifyProofForRequest: method must be an HTTP method token')
  if (htu === undefined) throw new TypeError('verifyProofForRequest: url must be an absolute http(s) URL')
  if (!Number.isFinite(options.now) || !(options.maxAgeSeconds > 0))
    throw new TypeError('verifyProofForRequest: now and maxAgeSeconds must be positive numbers')

  const { jwk, claims } = parseSignedProof(proof, options.algorithms ?? PROOF_ALGORITHMS)
  const { jti, iat } = claims
  if (typeof jti !== 'string' || jti === '' || jti.length > 256)
    throw new ProofRejected('ProofInvalid', 'DPoP.jti', 'must be a string of 1 to 256 characters')
  if (typeof claims.htm !== 'string') throw new ProofRejected('ProofInvalid', 'DPoP.htm', 'is required')
  if (typeof claims.htu !== 'string') throw new ProofRejected('ProofInvalid', 'DPoP.htu', 'is required')
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw new ProofRejected('ProofInvalid', 'DPoP.iat', 'must be a number of seconds since the epoch')
  if (normalizedHtm(claims.htm) !== htm)
    throw new ProofRejected('ProofRequestMismatch', 'DPoP.htm', 'must be the method of this request')
  if (normalizedHtu(claims.htu) !== htu)
    throw new ProofRejected('ProofRequestMismatch', 'DPoP.htu', 'must be the URL of this request')
  const now = Math.floor(options.now / 1000)
  if (Math.abs(now - iat) > options.maxAgeSeconds)
    throw new ProofRejected(
      'ProofExpired',
      'DPoP.iat',
      `must be within ${options.maxAgeSeconds} s of the server's time`,
    )
  if (options.nonce !== undefined && claims.nonce !== options.nonce)
    throw new ProofRejected(
      'ProofNonceInvalid',
      'DPoP.nonce',
      'must be the nonce the server sent in DPoP-Nonce',
    )
  if (options.accessToken !== undefined) {
    const ath = createHash('sha256').update(options.accessToken, 'ascii').digest('base64url')
    if (claims.ath !== ath)
      throw new ProofRejected(
        'ProofTokenMismatch',
        'DPoP.ath',
        'must be the SHA-256 hash of the access token sent',
      )
  }
  const jkt = jwkThumbprint(jwk)
  if (options.expectedJkt !== undefined && jkt !== options.expectedJkt)
    throw new ProofRejected('ProofKeyMismatch', 'DPoP.jwk', 'must be the key the access token is bound to')
  if (!(await options.seenJti(jti, Math.floor(iat) + options.maxAgeSeconds)))
    throw new ProofRejected('ProofReplayed', 'DPoP.jti', 'must not have been used before')
  return { jkt, publicJwk: jwk, jti, iat, htm, htu }
}
