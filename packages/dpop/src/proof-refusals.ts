/**
 * Why a DPoP proof was refused, one stable value per condition (RFC 9449 §4.3). The server answers
 * with it as the `Code`; the SDK's `ProofError` carries it as the `reason`.
 *
 * - `ProofMissing`: no `DPoP` proof came with the request.
 * - `ProofInvalid`: not a well-formed `dpop+jwt` JWS with an allowed algorithm, a public `jwk` and
 *   the required claims, or its signature does not verify.
 * - `ProofRequestMismatch`: `htm` or `htu` names another request (checks 8 and 9).
 * - `ProofTokenMismatch`: `ath` is missing or is the hash of another access token (check 12).
 * - `ProofKeyMismatch`: the proof's key is not the key the token is bound to (`cnf.jkt`, §6.1).
 * - `ProofExpired`: `iat` is outside the accepted window around now.
 * - `ProofReplayed`: this proof's `jti` was already used.
 * - `ProofNonceInvalid`: the proof lacks the `nonce` the server asked for, or carries another (§8).
 */
export const PROOF_REFUSALS = [
  'ProofMissing',
  'ProofInvalid',
  'ProofRequestMismatch',
  'ProofTokenMismatch',
  'ProofKeyMismatch',
  'ProofExpired',
  'ProofReplayed',
  'ProofNonceInvalid',
] as const

export type ProofRefusal = (typeof PROOF_REFUSALS)[number]

/** The RFC 9449 §7.1 `error` of a `WWW-Authenticate: DPoP` challenge for a refused proof. */
export type ProofRefusalOAuthError = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token'

/** A proof by another key than the token's is a problem of the token, not of the proof (§7.1). */
export function proofRefusalOAuthError(reason: ProofRefusal): ProofRefusalOAuthError {
  if (reason === 'ProofNonceInvalid') return 'use_dpop_nonce'
  if (reason === 'ProofKeyMismatch') return 'invalid_token'
  return 'invalid_dpop_proof'
}

/**
 * Makes the error a refusal is thrown as: each caller has its own error class (the server's
 * `ProofRejected`, the SDK's `ProofError`). `field` names what was wrong (`DPoP`, `DPoP.htu`…) and
 * `rule` what it must be; neither ever quotes the proof, a token or a key.
 */
export type RefuseProof = (reason: ProofRefusal, field: string, rule: string) => Error
