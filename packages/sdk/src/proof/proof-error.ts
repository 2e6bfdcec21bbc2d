import { PROOF_REFUSALS, type ProofRefusalOAuthError, proofRefusalOAuthError } from '@strongroom/dpop'
import { PamError } from '../errors.js'

const REASONS = [
  ...PROOF_REFUSALS,
  'TokenInvalid',
  'TokenExpired',
  'TokenNotBound',
  'ReplayCacheFull',
] as const

/**
 * Why a bound token or its proof was refused, one stable value per condition, so a resource server
 * can `switch (err.reason)`: the proof refusals of `@strongroom/dpop` (`ProofMissing`,
 * `ProofInvalid`, `ProofRequestMismatch`, `ProofTokenMismatch`, `ProofKeyMismatch`, `ProofExpired`,
 * `ProofReplayed`, `ProofNonceInvalid`, each documented there), then the token's own:
 *
 * - `TokenInvalid`: the access token is missing, malformed, not signed by the issuer, or for
 *   another issuer or audience.
 * - `TokenExpired`: the access token has expired.
 * - `TokenNotBound`: the access token is valid but bound to no key (no `cnf.jkt`): it is not a
 *   proof-of-possession token.
 * - `ReplayCacheFull`: the in-memory replay cache is full of live entries, so no new proof can be
 *   recorded (fail closed).
 *
 * All of them are answered with 401 and a `WWW-Authenticate: DPoP` challenge whose `error` is
 * `err.oauthError` (RFC 9449 §7.1), except `ReplayCacheFull` (503: the resource server is over
 * capacity, not the caller at fault).
 */
export type ProofErrorReason = (typeof REASONS)[number]

/** Every `ProofErrorReason`, for exhaustive tests and documentation. */
export const PROOF_ERROR_REASONS: readonly ProofErrorReason[] = REASONS

/** The RFC 9449 §7.1 / RFC 6750 §3.1 `error` of the `WWW-Authenticate` challenge to answer with. */
export type ProofOAuthError = ProofRefusalOAuthError

function oauthErrorFor(reason: ProofErrorReason): ProofOAuthError | undefined {
  switch (reason) {
    case 'TokenInvalid':
    case 'TokenExpired':
    case 'TokenNotBound':
      return 'invalid_token'
    case 'ReplayCacheFull':
      return undefined
    default:
      return proofRefusalOAuthError(reason)
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
