import { PamError } from '../errors.js'

export interface ThrottleOptions {
  /** Failures a source may have in a burst before it is refused. */
  burst: number
  /** How many failures per second a source earns back. */
  refillPerSecond: number
  now: () => number
  /** Sources remembered at most; the longest-unseen is forgotten first. */
  maxSources?: number
  /** Called for each refusal (each 429): the metrics count them. */
  onRefuse?: () => void
  /**
   * What a source is kept under, when not the source itself: `addressKey` for the throttles of
   * addresses (an IPv6 address's /64), so that one client cannot spend many budgets.
   */
  sourceKey?: (source: string) => string
}

/**
 * The longest part of a source that keys its bucket: a client id may be 16 KiB, and 10,000 of
 * them whole would hold 160 MB. The shared throttle keys its rows the same way.
 */
export const MAX_SOURCE_KEY = 256

/** `source` cut to `MAX_SOURCE_KEY`, after `sourceKey` when one is given. */
export function sourceKeyOf(options: Pick<ThrottleOptions, 'sourceKey'>, source: string): string {
  const key = options.sourceKey ? options.sourceKey(source) : source
  return key.length > MAX_SOURCE_KEY ? key.slice(0, MAX_SOURCE_KEY) : key
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A token bucket per source address, spent by failed authentications only. An exhausted source is
 * refused before any lookup or audit write, so a flood of bad tokens costs neither the database
 * nor the audit log. Memory is bounded: past `maxSources`, the longest-unseen source is dropped.
 */
export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>()
  private readonly maxSources: number

  constructor(private readonly options: ThrottleOptions) {
    this.maxSources = options.maxSources ?? 10_000
  }

  /** Seconds `source` must wait before trying again; 0 when it may try now. */
  retryAfter(source: string): number {
    const bucket = this.refill(sourceKeyOf(this.options, source))
    if (!bucket || bucket.tokens >= 1) return 0
    return Math.ceil((1 - bucket.tokens) / this.options.refillPerSecond)
  }

  /** Throws 429 `Throttling.User` with `Retry-After` when `source` must wait before trying again. */
  refuseIfExhausted(
    source: string,
    message = 'too many failed authentications from this address; retry later',
  ): void {
    const wait = this.retryAfter(source)
    if (wait <= 0) return
    this.options.onRefuse?.()
    throw new PamError('Throttling.User', message, { retryAfterSeconds: wait })
  }

  /** Spends one failure; true when this failure exhausted the source (it is throttled from now). */
  fail(source: string): boolean {
    const key = sourceKeyOf(this.options, source)
    const bucket = this.refill(key) ?? { tokens: this.options.burst, at: this.options.now() }
    bucket.tokens = Math.max(0, bucket.tokens - 1)
    this.buckets.delete(key)
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.maxSources) this.buckets.delete(this.buckets.keys().next().value!)
    return bucket.tokens < 1
  }

  /**
   * Counts one failed authentication of `source`: throws 429 as `refuseIfExhausted` when it had
   * no failure left, else spends one as `fail`. One synchronous step: concurrent failures cannot
   * all pass the check before any spends.
   */
  countFailure(source: string, message?: string): boolean {
    this.refuseIfExhausted(source, message)
    return this.fail(source)
  }

  /**
   * Spends one failure of `source` before the work, or refuses (429) when none is left; answers
   * the refund to call when the work did not fail. One synchronous step: concurrent attempts
   * cannot all pass the check before any has failed, so at most the budget's failures are let
   * through, however many come at once.
   */
  reserve(source: string, message?: string): () => void {
    this.countFailure(source, message)
    const key = sourceKeyOf(this.options, source)
    let refunded = false
    return () => {
      if (refunded) return
      refunded = true
      const bucket = this.refill(key)
      if (!bucket) return
      bucket.tokens += 1
      if (bucket.tokens >= this.options.burst) this.buckets.delete(key)
    }
  }

  /**
   * Takes what is known elsewhere of `source` (the database, shared by the nodes): it may fail
   * `tokens` more times from now. The lower of that and what this copy holds wins: answers to
   * concurrent requests may come back out of order, and the lowest is the latest (the copy
   * refills at the database's rate, so it is never below it otherwise). Only an exhausted or
   * spent source needs remembering.
   */
  adopt(source: string, tokens: number): void {
    const key = sourceKeyOf(this.options, source)
    const held = this.refill(key)?.tokens ?? this.options.burst
    const left = Math.min(held, tokens)
    this.buckets.delete(key)
    if (left >= this.options.burst) return
    this.buckets.set(key, { tokens: Math.max(0, left), at: this.options.now() })
    if (this.buckets.size > this.maxSources) this.buckets.delete(this.buckets.keys().next().value!)
  }

  private refill(source: string): Bucket | undefined {
    const bucket = this.buckets.get(source)
    if (!bucket) return undefined
    const now = this.options.now()
    // A clock stepped backwards (NTP) refills nothing and takes nothing: elapsed time never goes negative.
    const elapsed = Math.max(0, now - bucket.at)
    bucket.tokens = Math.min(
      this.options.burst,
      bucket.tokens + (elapsed / 1000) * this.options.refillPerSecond,
    )
    bucket.at = Math.max(bucket.at, now)
    if (bucket.tokens >= this.options.burst) {
      this.buckets.delete(source)
      return undefined
    }
    return bucket
  }
}
