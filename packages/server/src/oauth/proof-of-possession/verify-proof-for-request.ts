import {
  checkProof,
  normalizedHtm,
  normalizedHtu,
  PROOF_ALGORITHMS,
  type ProofAlgorithm,
} from '@strongroom/dpop'
import type { BindablePublicJwk } from './confirmation-for.js'
import { ProofRejected } from './proof-rejected.js'

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
 * that verifies its signature, `htm` and `htu` of this request, `iat` within `maxAgeSeconds` of
 * now either way, `ath` of the access token when one is given, the nonce when one is required, the
 * expected key when one is given, and last a `jti` not seen before: `checkProof` of
 * `@strongroom/dpop`, the same checks the SDK runs. Every refusal is a `ProofRejected` (an
 * `InvalidParameter`) with its `reason`, the field and the rule.
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

  const { jkt, jwk, jti, iat } = await checkProof(proof, {
    htm,
    htu,
    accessToken: options.accessToken,
    nonce: options.nonce,
    expectedJkt: options.expectedJkt,
    now: options.now,
    windowSeconds: options.maxAgeSeconds,
    algorithms: options.algorithms ?? PROOF_ALGORITHMS,
    firstUseOfJti: options.seenJti,
    refuse: (reason, field, rule) => new ProofRejected(reason, field, rule),
  })
  return { jkt, publicJwk: jwk, jti, iat, htm, htu }
}
