import { PamError } from '../../errors.js'
import type { DpopChallenged } from '../../oauth/proof-of-possession/dpop-challenge.js'

export type SessionRefusal = 'SessionNotFound' | 'SessionExpired' | 'SessionRevoked'

/**
 * A session token's session cannot be used: unknown (`SessionNotFound`), over (`SessionExpired`)
 * or ended early (`SessionRevoked`). A 401 answered with `DPoP error="invalid_token"`: the token
 * is no longer good, and a new session must be started with the application's own credentials.
 */
export class SessionRefused extends PamError implements DpopChallenged {
  readonly challenge = 'DPoP' as const

  constructor(code: SessionRefusal, message: string) {
    super(code, message)
  }
}

/** What is known of a session when a token of it is presented. */
export interface SessionState {
  revoked: number | null
  expiresAt: number | null
  /**
   * Set when the access token the session was started with has been revoked (RFC 7009): its
   * `jti` as found in `revoked_access_tokens`, null otherwise.
   */
  parentRevoked: string | null
}

/**
 * Refuses a token of a session that has been revoked, whose starting token has been revoked, or
 * that has ended: the session's end is when its tokens stop, for refresh and use alike. (Whether
 * the session exists and is the token's is the caller's to check first: `SessionNotFound`.)
 */
export function requireLiveSession(session: SessionState, now: number): void {
  if (Number(session.revoked ?? 0) !== 0)
    throw new SessionRefused('SessionRevoked', 'the session of this token has been revoked')
  if (session.parentRevoked !== null)
    throw new SessionRefused(
      'SessionRevoked',
      'what started the session of this token (an access token, or an OCI API key) has been revoked or removed, and the session with it',
    )
  if (session.expiresAt === null || now >= Number(session.expiresAt))
    throw new SessionRefused('SessionExpired', 'the session of this token has ended; start a new one')
}
