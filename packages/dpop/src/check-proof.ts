import { accessTokenHash, type ProofAlgorithm, type PublicProofJwk, proofJwkThumbprint } from './proof-jwk.js'
import type { RefuseProof } from './proof-refusals.js'
import { normalizedHtm, normalizedHtu } from './request-target.js'
import { parseSignedProof } from './signed-proof.js'

export interface ProofCheck {
  /** The request's method, already in `htm` form (`normalizedHtm`). */
  htm: string
  /** The request's URL as the client addressed it, already in `htu` form (`normalizedHtu`). */
  htu: string
  /** The access token sent with the proof, when there is one: the proof must carry its `ath`. */
  accessToken?: string | undefined
  /** The nonce the server handed out, when it requires one (RFC 9449 §8). */
  nonce?: string | undefined
  /** The thumbprint the proof's key must have, e.g. the `cnf.jkt` of the token it comes with. */
  expectedJkt?: string | undefined
  /** Now, in milliseconds since the epoch. */
  now: number
  /** How far `iat` may be from now, either way, in seconds. */
  windowSeconds: number
  algorithms: readonly ProofAlgorithm[]
  /**
   * Records the proof's `jti` until `expiresAt` (seconds since the epoch, when the proof leaves the
   * window) and resolves `true` on its FIRST use, `false` when it was seen before: one atomic
   * "insert if absent". Called last, once every other check has passed.
   */
  firstUseOfJti: (jti: string, expiresAt: number) => Promise<boolean>
  /** Makes the error each refusal is thrown as. */
  refuse: RefuseProof
}

/** A proof that passed every check, its `jti` recorded. */
export interface CheckedProof {
  /** RFC 7638 thumbprint of the proof's key: the `cnf.jkt` to bind a token to. */
  jkt: string
  jwk: PublicProofJwk
  alg: ProofAlgorithm
  jti: string
  /** Seconds since the epoch. */
  iat: number
  htm: string
  htu: string
  /** When the proof leaves the window, in seconds since the epoch: how long its `jti` is remembered. */
  expiresAt: number
}

/**
 * Checks a DPoP proof for the request it came with (RFC 9449 §4.3): a compact JWS with
 * `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` (EC P-256, Ed25519 or RSA 2048+)
 * that verifies its signature (`node:crypto`), `htm` and `htu` of this request, `iat` within the
 * window of now either way, the nonce when one is required, `ath` of the access token when one is
 * given, the expected key when one is given, and last a `jti` not seen before. Each refusal is
 * thrown as `check.refuse(reason, field, rule)` makes it.
 *
 * @example
 * ```ts
 * const { jkt } = await checkProof(request.headers.dpop, {
 *   htm: 'POST', htu: 'https://pam.example/oauth2/token', now: Date.now(), windowSeconds: 60,
 *   algorithms: PROOF_ALGORITHMS, firstUseOfJti, refuse: (reason, field, rule) => new MyError(reason, `${field} ${rule}`),
 * })
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3
 */
export async function checkProof(proof: unknown, check: ProofCheck): Promise<CheckedProof> {
  const { refuse, htm, htu } = check
  const { alg, jwk, claims } = parseSignedProof(proof, check.algorithms, refuse)
  const { jti, iat } = claims
  if (typeof jti !== 'string' || jti === '' || jti.length > 256)
    throw refuse('ProofInvalid', 'DPoP.jti', 'must be a string of 1 to 256 characters')
  if (typeof claims.htm !== 'string') throw refuse('ProofInvalid', 'DPoP.htm', 'is required')
  if (typeof claims.htu !== 'string') throw refuse('ProofInvalid', 'DPoP.htu', 'is required')
  if (typeof iat !== 'number' || !Number.isFinite(iat))
    throw refuse('ProofInvalid', 'DPoP.iat', 'must be a number of seconds since the epoch')
  if (normalizedHtm(claims.htm) !== htm)
    throw refuse('ProofRequestMismatch', 'DPoP.htm', 'must be the method of this request')
  if (normalizedHtu(claims.htu) !== htu)
    throw refuse('ProofRequestMismatch', 'DPoP.htu', 'must be the URL of this request')
  const now = Math.floor(check.now / 1000)
  if (Math.abs(now - iat) > check.windowSeconds)
    throw refuse('ProofExpired', 'DPoP.iat', `must be within ${check.windowSeconds} s of the server's time`)
  if (check.nonce !== undefined && claims.nonce !== check.nonce)
    throw refuse('ProofNonceInvalid', 'DPoP.nonce', 'must be the nonce the server sent in DPoP-Nonce')
  if (check.accessToken !== undefined && claims.ath !== accessTokenHash(check.accessToken))
    throw refuse('ProofTokenMismatch', 'DPoP.ath', 'must be the SHA-256 hash of the access token sent')
  const jkt = proofJwkThumbprint(jwk)
  if (check.expectedJkt !== undefined && jkt !== check.expectedJkt)
    throw refuse('ProofKeyMismatch', 'DPoP.jwk', 'must be the key the access token is bound to')
  const expiresAt = Math.floor(iat) + check.windowSeconds
  if (!(await check.firstUseOfJti(jti, expiresAt)))
    throw refuse('ProofReplayed', 'DPoP.jti', 'must not have been used before')
  return { jkt, jwk, alg, jti, iat, htm, htu, expiresAt }
}
