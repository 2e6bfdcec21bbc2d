/**
 * The timing policy of the token cache, as pure functions of a token's lifetime. `lifetime` is
 * `expiresAt − receivedAt`, measured when the token arrives.
 *
 * | moment | when | for a 1 h token | for a 60 s token |
 * |---|---|---|---|
 * | background refresh | 2/3 of the lifetime, jittered earlier by up to 10% of it | 34 – 40 min | 34 – 40 s |
 * | callers start to wait | when less than min(60 s, 10% of the lifetime) is left | 59 min | 54 s |
 * | treated as expired | min(5 s, 5% of the lifetime) before `expiresAt` | 59 min 55 s | 57 s |
 *
 * After a failed refresh the next attempt waits a capped exponential backoff with jitter: the n-th
 * consecutive failure waits between half and all of min(30 s, 1 s × 2^(n−1)).
 */

/** Background refresh at this fraction of the lifetime (before jitter). */
export const REFRESH_AT_FRACTION = 2 / 3
/** Jitter moves the background refresh earlier, never later, by up to this fraction of the lifetime. */
export const REFRESH_JITTER_FRACTION = 0.1
/** Callers wait for a refresh once less than min(this, …) is left… */
export const BLOCKING_WINDOW_MAX_MS = 60_000
/** …or less than this fraction of the lifetime. */
export const BLOCKING_WINDOW_FRACTION = 0.1
/** A token counts as expired this long before `expiresAt` (clock skew, time in flight)… */
export const EXPIRY_SKEW_MAX_MS = 5_000
/** …or this fraction of its lifetime before, for very short tokens. */
export const EXPIRY_SKEW_FRACTION = 0.05
/** The first retry after a failure waits up to this long… */
export const BACKOFF_BASE_MS = 1_000
/** …doubling with every consecutive failure, up to this. */
export const BACKOFF_MAX_MS = 30_000

/** The moments, in epoch ms, that rule one token's life in the cache. */
export interface TokenTimes {
  readonly receivedAt: number
  readonly expiresAt: number
  /** Start a background refresh from here on (the valid token is still served meanwhile). */
  readonly refreshAt: number
  /** From here on, callers wait for the shared refresh instead of taking this token. */
  readonly blockFrom: number
  /** From here on the token is never handed out. */
  readonly usableUntil: number
}

/**
 * The moments for a token expiring at `expiresAt`, received at `receivedAt`; `random` in [0, 1)
 * picks the jitter. Returns `undefined` when the token is already unusable on arrival.
 */
export function tokenTimes(expiresAt: number, receivedAt: number, random: number): TokenTimes | undefined {
  const lifetime = expiresAt - receivedAt
  if (!(lifetime > 0)) return undefined
  const jitter = clamp01(random) * REFRESH_JITTER_FRACTION * lifetime
  return {
    receivedAt,
    expiresAt,
    refreshAt: receivedAt + REFRESH_AT_FRACTION * lifetime - jitter,
    blockFrom: expiresAt - Math.min(BLOCKING_WINDOW_MAX_MS, BLOCKING_WINDOW_FRACTION * lifetime),
    usableUntil: expiresAt - Math.min(EXPIRY_SKEW_MAX_MS, EXPIRY_SKEW_FRACTION * lifetime),
  }
}

/**
 * How long to wait after the `failures`-th consecutive failed refresh (1 for the first): "equal
 * jitter", between half and all of min(30 s, 1 s × 2^(failures−1)), so it grows even at its
 * unluckiest and several clients that failed together do not retry together.
 */
export function backoffDelay(failures: number, random: number): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30)
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** exponent)
  return ceiling / 2 + (clamp01(random) * ceiling) / 2
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0
}
