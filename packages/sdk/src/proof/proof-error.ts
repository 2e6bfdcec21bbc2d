import { PamError } from '../errors.js'

/**
 * Why a bound token or its proof was refused, one stable value per condition, so a resource server
 * can `switch (err.reason)`. All of them are answered with 401 and a `WWW-Authenticate: DPoP`
 * challenge whose `error` is `err.oauthError` (RFC 9449 §7.1), except `ReplayCacheFull` (503: the
 * resource server is over capacity, not the caller at fault).
 */
export type ProofErrorReason =
  /** No `DPoP` proof came with the request. */
  | 'ProofMissing'
  /** The proof is not a well-formed `dpop+jwt` JWS with an allowed algorithm, a public `jwk` and the required claims, or its signature does not verify. */
  | 'ProofInvalid'
  /** `htm` or `htu` names another request (RFC 9449 §4.3 checks 8 and 9). */
  | 'ProofRequestMismatch'
  /** `ath` is missing or is the hash of another access token (RFC 9449 §4.3 check 12). */
  | 'ProofTokenMismatch'
  /** The proof's key is not the key the token is bound to (`cnf.jkt`, RFC 9449 §6.1). */
  | 'ProofKeyMismatch'
  /** `iat` is outside the accepted window around now. */
  | 'ProofExpired'
  /** This proof's `jti` was already used. */
  | 'ProofReplayed'
  /** The proof lacks the `nonce` the server asked for, or carries another one (RFC 9449 §8). */
  | 'ProofNonceInvalid'
  /** The access token is missing, malformed, not signed by the issuer, or for another issuer or audience. */
  | 'TokenInvalid'
  /** The access token has expired. */
  | 'TokenExpired'
  /** The access token is valid but bound to no key (no `cnf.jkt`): it is not a proof-of-possession token. */
  | 'TokenNotBound'
  /** The in-memory replay cache is full of live entries, so no new proof can be recorded (fail closed). */
  | 'ReplayCacheFull'

/** Every `ProofErrorReason`, for exhaustive tests and documentation. */
export const PROOF_ERROR_REASONS: readonly ProofErrorReason[] = [
  'ProofMissing',
  'ProofInvalid',
  'ProofRequestMismatch',
  'ProofTokenMismatch',
  'ProofKeyMismatch',
  'ProofExpired',
  'ProofReplayed',
  'ProofNonceInvalid',
  'TokenInvalid',
  'TokenExpired',
  'TokenNotBound',
  'ReplayCacheFull',
]

/** The RFC 9449 §7.1 / RFC 6750 §3.1 `error` of the `WWW-Authenticate` challenge to answer with. */
export type ProofOAuthError = 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce'

function oauthErrorFor(reason: ProofErrorReason): ProofOAuthError | undefined {
  switch (reason) {
    case 'TokenInvalid':
    case 'TokenExpired':
    case 'TokenNotBound':
    case 'ProofKeyMismatch':
      return 'invalid_token'
    case 'ProofNonceInvalid':
      return 'use_dpop_nonce'
    case 'ReplayCacheFull':
      return undefined
    default:
      return 'invalid_dpop_proof'
  }
}

/**
 * A bound token or its proof was refused. `code` is the SDK-wide `ERR_PAM_AUTHENTICATION` (or
 * `ERR_PAM_SERVER` for `ReplayCacheFull`); `reason` says which check failed. The message names the
 * claim and the rule, never a token, a proof or a key.
 *
 * @example
 * ```ts
 * try {
 *   await verifyBoundToken(request, options)
 * } catch (err) {
 *   if (err instanceof ProofError) return reply401(`DPoP error="${err.oauthError}"`)
 *   throw err
 * }
 * ```
 */
export class ProofError extends PamError {
  readonly reason: ProofErrorReason
  /** The `error` for the `WWW-Authenticate: DPoP` challenge; undefined for `ReplayCacheFull`. */
  readonly oauthError: ProofOAuthError | undefined

  constructor(reason: ProofErrorReason, message: string) {
    super(reason === 'ReplayCacheFull' ? 'ERR_PAM_SERVER' : 'ERR_PAM_AUTHENTICATION', message)
    this.reason = reason
    this.oauthError = oauthErrorFor(reason)
  }
}

/** A caller's programming mistake (a method that is no HTTP token, a URL that is not http(s)). */
export function invalidArgument(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_VALUE' as const })
}
