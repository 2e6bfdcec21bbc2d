import { ProofError } from './proof-error.js'

/**
 * Records a proof's `jti` and says whether this is its first use: resolves `true` the first time,
 * `false` on every later call before `expiresAt` (seconds since the epoch, when the proof leaves
 * the accepted window and can no longer be replayed anyway). A shared implementation is one atomic
 * "set if absent, with expiry", e.g. Redis `SET dpop:<jti> 1 NX EXAT <expiresAt>`.
 */
export type ReplayCheck = (jti: string, expiresAt: number) => Promise<boolean>

export interface MemoryReplayCacheOptions {
  /** At most this many live `jti`s are held (default 100 000, ≈ 1 600 proofs a second with a 60 s window). */
  maxEntries?: number
  /** The clock, in milliseconds since the epoch; `Date.now` by default. */
  now?: () => number
}

/**
 * An in-memory `ReplayCheck` for a resource server that runs as ONE process. With several
 * processes or hosts behind a load balancer each would hold its own cache and a proof could be
 * replayed against another one: give them a shared store instead (see `ReplayCheck`).
 *
 * Entries are forgotten once expired. When the cache is full of live entries it refuses to record
 * more and `firstUse` rejects with `ProofError('ReplayCacheFull')` (answer 503): it fails closed
 * rather than forget a `jti` that could still be replayed.
 *
 * @example
 * ```ts
 * const replay = new MemoryReplayCache()
 * await verifyBoundToken(request, { ...options, firstUseOfJti: replay.firstUse })
 * ```
 */
export class MemoryReplayCache {
  readonly #expiries = new Map<string, number>()
  readonly #maxEntries: number
  readonly #now: () => number

  constructor(options: MemoryReplayCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw Object.assign(new TypeError('maxEntries must be a positive integer'), {
        code: 'ERR_INVALID_ARG_VALUE' as const,
      })
    }
    this.#maxEntries = maxEntries
    this.#now = options.now ?? Date.now
  }

  /** How many `jti`s are held, expired ones not yet swept included. */
  get size(): number {
    return this.#expiries.size
  }

  /** The `ReplayCheck`: bound to this cache, so it can be passed on as it is. */
  readonly firstUse: ReplayCheck = async (jti, expiresAt) => {
    const now = this.#now() / 1000
    const known = this.#expiries.get(jti)
    if (known !== undefined && known > now) return false
    this.#expiries.delete(jti)
    if (!(expiresAt > now)) return true // already outside the window: nothing left to protect
    this.#sweep(now, false)
    if (this.#expiries.size >= this.#maxEntries) this.#sweep(now, true)
    if (this.#expiries.size >= this.#maxEntries) {
      throw new ProofError('ReplayCacheFull', 'the replay cache is full of live proofs; try again shortly')
    }
    this.#expiries.set(jti, expiresAt)
    return true
  }

  /** Drops expired entries: from the oldest until a live one, or (when full) all of them. */
  #sweep(now: number, all: boolean): void {
    for (const [jti, expiresAt] of this.#expiries) {
      if (expiresAt <= now) this.#expiries.delete(jti)
      else if (!all) return
    }
  }
}
