import { invalidArgument } from './invalid-argument.js'
/**
 * When and how long the client waits before trying a call again. Only what is safe is retried:
 * network failures that happened before the request could reach the server (refused, DNS,
 * unreachable, proxy tunnel refused with 502–504), network failures after sending for idempotent
 * calls only (reset, hang-up), and the statuses 429 and 503 (the server did not process it), and
 * 502 and 504 for idempotent calls only (a gateway gave up: the origin may have run the call).
 * A single-use call (`RequestOptions.singleUse`) is retried only after a network failure before
 * sending and after a 429.
 * Never another 4xx or 5xx, never a timeout, never after the caller's signal aborted.
 */
export interface RetryPolicy {
  /** Total attempts, the first included; 1 disables retries. Default 3. */
  maxAttempts: number
  /** The backoff's base: retry n (from 0) waits random in [0, min(maxDelayMs, baseDelayMs·2ⁿ)). Default 200. */
  baseDelayMs: number
  /** The backoff's cap. Default 5 000. */
  maxDelayMs: number
  /**
   * The longest wait a server may ask for with `Retry-After` / `x-acs-retry-after`. A server asking
   * for longer is not retried: its error (with `retryAfterMs`) is returned at once so the caller can
   * schedule. Default 30 000.
   */
  maxRetryAfterMs: number
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
})

/** The statuses retried: the server says it did not process the request, or a gateway failed. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504])

/**
 * Capped exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): a uniformly random wait in [0, min(maxDelayMs, baseDelayMs·2^retry)).
 *
 * @param retry 0 for the first retry, 1 for the second, …
 * @param random a source in [0, 1), `Math.random` by default
 */
export function fullJitterDelay(
  retry: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  return Math.floor(random() * ceiling)
}

/**
 * How long the server asked us to wait, in milliseconds: `x-acs-retry-after` (milliseconds) when
 * valid, else `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3, relative to `now`).
 * `undefined` when neither is present and valid.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const acs = headers.get('x-acs-retry-after')?.trim()
  if (acs && /^\d+$/.test(acs)) return Number(acs)
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Resolves a partial policy against the defaults, refusing nonsense with a `TypeError`. */
export function resolveRetryPolicy(policy: Partial<RetryPolicy> | false | undefined): RetryPolicy {
  if (policy === false) return { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 }
  const resolved = { ...DEFAULT_RETRY_POLICY, ...definedOnly(policy ?? {}) }
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw invalidArgument('retry.maxAttempts must be an integer of at least 1')
  }
  for (const key of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) {
      throw invalidArgument(`retry.${key} must be a finite number of milliseconds, at least 0`)
    }
  }
  return resolved
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
