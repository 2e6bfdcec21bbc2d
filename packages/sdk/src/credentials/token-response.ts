import { AuthenticationError } from '../errors.js'
import { type AccessToken, sealAccessToken } from '../token-cache/access-token.js'

/** How long a token without `expires_in` or `expires_at` is trusted (RFC 6749 makes both optional). */
const UNKNOWN_LIFETIME_MS = 300_000

/** The longest an access token is taken to live, whatever the token endpoint says. */
const MAX_LIFETIME_MS = 365 * 24 * 3600 * 1000

/**
 * A token endpoint's success response (RFC 6749 §5.1) as an `AccessToken`. The expiry comes from
 * `expires_in` (seconds, counted from `requestedAt`, when the request was sent, so time in transit
 * only shortens it), or from `expires_at` (epoch seconds, which the IDaaS endpoints add) when that
 * is earlier.
 */
export function accessTokenFrom(body: unknown, requestedAt: number): AccessToken {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (typeof b.access_token !== 'string' || b.access_token === '') {
    throw new AuthenticationError('the token endpoint answered without an access_token')
  }
  const candidates: number[] = []
  if (typeof b.expires_in === 'number' && Number.isFinite(b.expires_in) && b.expires_in > 0) {
    candidates.push(requestedAt + b.expires_in * 1000)
  }
  if (typeof b.expires_at === 'number' && Number.isFinite(b.expires_at) && b.expires_at > 0) {
    candidates.push(b.expires_at * 1000)
  }
  // At most a year: a larger figure is no promise worth keeping a token for, and past year
  // 275,760 it is not even a date (printing the token would throw).
  candidates.push(requestedAt + MAX_LIFETIME_MS)
  return sealAccessToken({
    accessToken: b.access_token,
    expiresAt: candidates.length > 1 ? Math.min(...candidates) : requestedAt + UNKNOWN_LIFETIME_MS,
    tokenType: typeof b.token_type === 'string' ? b.token_type : 'Bearer',
    scope: typeof b.scope === 'string' ? b.scope : undefined,
  })
}
