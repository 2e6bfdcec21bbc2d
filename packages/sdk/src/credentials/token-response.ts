import { AuthenticationError } from '../errors.js'
import {
  type AccessToken,
  isTokenText,
  isTokenType,
  MAX_TOKEN_TYPE_LENGTH,
  sealAccessToken,
} from '../token-cache/access-token.js'

/** How long a token without `expires_in` or `expires_at` is trusted (RFC 6749 makes both optional). */
const UNKNOWN_LIFETIME_MS = 300_000

/** The longest an access token is taken to live, whatever the token endpoint says. */
const MAX_LIFETIME_MS = 365 * 24 * 3600 * 1000

/**
 * A token endpoint's success response (RFC 6749 §5.1) as an `AccessToken`. The expiry comes from
 * `expires_in` (seconds, counted from `requestedAt`, when the request was sent, so time in transit
 * only shortens it), which does not depend on this machine's clock agreeing with the server's;
 * `expires_at` (epoch seconds by the server's clock, which the IDaaS endpoints add) only when
 * `expires_in` is missing. Preferring the earlier of the two, as this once did, made a client
 * whose clock runs ahead by a token's lifetime take every token as expired on arrival.
 *
 * An `expires_in` of zero or less is a token the server says is already expired: refused, never
 * sent (it is not "lifetime unknown"). A token that could not go into an `Authorization` header
 * (RFC 6750: visible ASCII), or a `token_type` that could not be its scheme (an RFC 7230 token),
 * is refused without quoting it.
 */
export function accessTokenFrom(body: unknown, requestedAt: number): AccessToken {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (typeof b.access_token !== 'string' || b.access_token === '') {
    throw new AuthenticationError('the token endpoint answered without an access_token')
  }
  if (!isTokenText(b.access_token)) {
    throw new AuthenticationError(
      'the token endpoint answered an access_token with characters a token cannot have (RFC 6750: visible ASCII only)',
    )
  }
  // Sent as the scheme of an Authorization header (`${tokenType} ${accessToken}`), which a line
  // break would make `Headers` throw over, quoting the token: refused, not quoted either.
  if (typeof b.token_type === 'string' && !isTokenType(b.token_type)) {
    throw new AuthenticationError(
      `the token endpoint answered a token_type that is no header scheme (RFC 7230 token of at most ${MAX_TOKEN_TYPE_LENGTH} characters)`,
    )
  }
  let expiresAt = requestedAt + UNKNOWN_LIFETIME_MS
  if (typeof b.expires_in === 'number' && Number.isFinite(b.expires_in)) {
    if (b.expires_in <= 0) {
      throw new AuthenticationError(
        `the token endpoint answered a token that has already expired (expires_in ${b.expires_in})`,
      )
    }
    expiresAt = requestedAt + b.expires_in * 1000
  } else if (typeof b.expires_at === 'number' && Number.isFinite(b.expires_at) && b.expires_at > 0) {
    expiresAt = b.expires_at * 1000
  }
  return sealAccessToken({
    accessToken: b.access_token,
    // At most a year: a larger figure is no promise worth keeping a token for, and past year
    // 275,760 it is not even a date (printing the token would throw).
    expiresAt: Math.min(expiresAt, requestedAt + MAX_LIFETIME_MS),
    tokenType: typeof b.token_type === 'string' ? b.token_type : 'Bearer',
    scope: typeof b.scope === 'string' ? b.scope : undefined,
  })
}
