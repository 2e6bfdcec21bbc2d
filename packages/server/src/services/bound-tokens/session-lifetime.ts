/**
 * Seconds a session token lives at most: short, so that a session's revocation or its
 * application's disabling reaches third-party resource servers (which check only `exp`) soon.
 */
export const SESSION_TOKEN_MAX_SECONDS = 300

/**
 * A session token's lifetime: five minutes, or what is left of the session if less. Below 1 when
 * less than a second is left, which the caller refuses as it must (a refresh: `SessionExpired`).
 */
export function sessionTokenLifetime(endsAt: number, now: number): number {
  return Math.min(SESSION_TOKEN_MAX_SECONDS, Math.floor((endsAt - now) / 1000))
}
