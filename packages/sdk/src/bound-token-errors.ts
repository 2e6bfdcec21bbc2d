import { AuthenticationError, type PamErrorOptions } from './errors.js'
import type { ProofErrorReason } from './proof/proof-error.js'

/**
 * Why strongroom refused a session or the DPoP proof of a bound token (401), one class per
 * condition, each an `AuthenticationError` with a code of its own. The HTTP layer picks them by
 * the server's `Code`.
 *
 * @example
 * ```ts
 * try {
 *   session = await pam.refreshSessionToken(session, key)
 * } catch (err) {
 *   if (err instanceof SessionExpiredError) session = await pam.startSession({ scope, key, sessionExpirationInMinutes: 60 })
 *   else throw err
 * }
 * ```
 */

/** 401 `SessionExpired`: the session reached its `sessionExpirationTime`; start a new one. */
export class SessionExpiredError extends AuthenticationError {
  override readonly code = 'ERR_PAM_SESSION_EXPIRED' as const
}

/** 401 `SessionRevoked`: an administrator (or the application) ended the session. */
export class SessionRevokedError extends AuthenticationError {
  override readonly code = 'ERR_PAM_SESSION_REVOKED' as const
}

/** 401 `SessionNotFound`: the server knows no such session. */
export class SessionNotFoundError extends AuthenticationError {
  override readonly code = 'ERR_PAM_SESSION_NOT_FOUND' as const
}

/** The server's `Code`s for a refused DPoP proof: the `Proof…` reasons of `ProofErrorReason`. */
export type ProofRejectionReason = Extract<ProofErrorReason, `Proof${string}`>

/**
 * 401 `Proof…`: the server refused the DPoP proof that came with a bound token. `reason` is the
 * server's `Code`, one of the `ProofErrorReason`s a local `verifyBoundToken` would give:
 * `ProofKeyMismatch` when the proof is signed by another key than the token is bound to,
 * `ProofReplayed` when a proof was sent twice, and so on.
 */
export class ProofRejectedError extends AuthenticationError {
  override readonly code = 'ERR_PAM_PROOF_REJECTED' as const
  readonly reason: ProofRejectionReason

  constructor(message: string, options: PamErrorOptions & { reason: ProofRejectionReason }) {
    super(message, options)
    this.reason = options.reason
  }
}
