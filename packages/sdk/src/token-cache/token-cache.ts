import { CredentialProviderError } from '../errors.js'
import { type AccessToken, sealAccessToken } from './access-token.js'
import { platformTimers, setUnrefTimer, type TimerFunctions, type TimerHandle } from './timers.js'
import { backoffDelay, type TokenTimes, tokenTimes } from './token-timing.js'
import { waitUnlessAborted } from './wait-unless-aborted.js'

/** How a {@link TokenCache} gets tokens, tells time and sets timers. Only `fetchToken` is required. */
export interface TokenCacheOptions {
  /**
   * Fetches a new token. Called by at most one refresh at a time, however many callers wait. The
   * signal aborts only when the cache is closed, never because one caller gave up. `expiresAt` is in
   * epoch milliseconds: convert the server's `expires_in` (seconds from now) or `expires_at` (epoch
   * seconds) before returning.
   */
  fetchToken: (signal: AbortSignal) => Promise<AccessToken>
  /** The current time in epoch ms. Default `Date.now`. */
  now?: () => number
  /** Sets a timer; `unref()` is called on the handle when it has one. Default `globalThis.setTimeout`. */
  setTimeout?(callback: () => void, ms: number): TimerHandle
  /** Clears a timer `setTimeout` set. Default `globalThis.clearTimeout`. */
  clearTimeout?(handle: TimerHandle): void
  /** A number in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number
}

/** Options of one {@link TokenCache.getToken} call. */
export interface GetTokenOptions {
  /** Stops this caller waiting (it rejects with the signal's reason); the shared refresh goes on. */
  signal?: AbortSignal
  /** Fetch a new token now, even if the cached one is fresh (joins a refresh already under way). */
  forceRefresh?: boolean
}

type Outcome =
  | { readonly ok: true; readonly token: AccessToken }
  | { readonly ok: false; readonly error: unknown }

interface Held {
  readonly token: AccessToken
  readonly times: TokenTimes
}

const REDACTED = '[REDACTED]'

/**
 * Caches an access token: one refresh in flight shared by every caller, refreshed ahead of expiry in
 * the background while the current token is still served, never handing out an expired token, and
 * backing off after failures.
 *
 * The policy, for a token whose lifetime (`expiresAt` − arrival) is L:
 * - a **background refresh** starts at 2/3 of L, moved earlier (never later) by a jitter of up to
 *   10% of L; the current token is served meanwhile;
 * - callers **wait** for the shared refresh only when there is no token, or less than
 *   min(60 s, 10% of L) is left; if that refresh fails while the token is still usable, they get it;
 * - a token is **expired** min(5 s, 5% of L) before its `expiresAt` and is never returned after that;
 * - after a **failed** refresh the next one waits a backoff: between half and all of
 *   min(30 s, 1 s × 2^(n−1)) after the n-th consecutive failure. Meanwhile a still-usable token is
 *   served; with none, `getToken()` rejects at once with the last refresh's error. After the backoff
 *   a new attempt is made, so a failure is never cached for longer. `forceRefresh` ignores the backoff.
 *
 * Timers are `unref()`ed, so the cache never keeps a process alive; `close()` (or `await using`)
 * stops them. Neither `util.inspect` nor `JSON.stringify` shows the token.
 *
 * @example
 * ```ts
 * await using cache = new TokenCache({
 *   fetchToken: async (signal) => {
 *     const body = await postClientCredentials({ signal }) // { access_token, expires_in, … }
 *     return { accessToken: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 }
 *   },
 * })
 * const { accessToken } = await cache.getToken({ signal: AbortSignal.timeout(10_000) })
 * // after a 401 that says the token was revoked:
 * const fresh = await cache.getToken({ forceRefresh: true })
 * ```
 */
export class TokenCache implements AsyncDisposable, Disposable {
  readonly #fetchToken: (signal: AbortSignal) => Promise<AccessToken>
  readonly #now: () => number
  readonly #random: () => number
  readonly #timers: TimerFunctions
  #held: Held | undefined
  #inflight: Promise<Outcome> | undefined
  #fetchController: AbortController | undefined
  #finishInflight: ((outcome: Outcome) => void) | undefined
  #failures = 0
  #lastError: unknown
  #retryAt: number | undefined
  #timer: TimerHandle | undefined
  #closed: DOMException | undefined

  constructor(options: TokenCacheOptions) {
    const { fetchToken, now = Date.now, random = Math.random } = options
    const set = options.setTimeout ?? platformTimers.setTimeout
    const clear = options.clearTimeout ?? platformTimers.clearTimeout
    this.#fetchToken = fetchToken
    this.#now = () => now()
    this.#random = () => random()
    // Called detached: a browser's `setTimeout` refuses any `this` but the global one.
    this.#timers = {
      setTimeout: (callback, ms) => set(callback, ms),
      clearTimeout: (handle) => clear(handle),
    }
  }

  /**
   * A valid access token: the cached one while it has plenty of life left, else the result of the
   * refresh every caller shares. Rejects with the refresh's error when no usable token is left, with
   * the signal's reason when `options.signal` aborts, and with an `AbortError` once the cache is
   * closed.
   *
   * @example
   * ```ts
   * const token = await cache.getToken()
   * headers.set('Authorization', `${token.tokenType ?? 'Bearer'} ${token.accessToken}`)
   * ```
   */
  async getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
    const { signal, forceRefresh = false } = options
    if (this.#closed !== undefined) throw this.#closed
    signal?.throwIfAborted()
    if (forceRefresh) return unwrap(await this.#wait(this.#refresh(), signal))

    const now = this.#now()
    const held = this.#usable(now)
    if (held !== undefined) {
      if (now < held.times.blockFrom) {
        if (now >= held.times.refreshAt && this.#mayRefresh(now)) void this.#refresh()
        return held.token
      }
      if (!this.#mayRefresh(now)) return held.token
      const outcome = await this.#wait(this.#refresh(), signal)
      if (outcome.ok) return outcome.token
      // The refresh failed, but the token we had may still be good for a few seconds.
      const stillHeld = this.#usable(this.#now())
      if (stillHeld !== undefined) return stillHeld.token
      throw outcome.error
    }
    if (!this.#mayRefresh(now)) throw this.#lastError
    return unwrap(await this.#wait(this.#refresh(), signal))
  }

  /**
   * Fetches a new token now, even if the cached one is fresh, e.g. after the server refused it. It
   * joins a refresh already under way rather than starting a second one. Same as
   * `getToken({ ...options, forceRefresh: true })`.
   *
   * @example
   * ```ts
   * const token = await cache.forceRefresh({ signal })
   * ```
   */
  forceRefresh(options: Omit<GetTokenOptions, 'forceRefresh'> = {}): Promise<AccessToken> {
    return this.getToken({ ...options, forceRefresh: true })
  }

  /**
   * Stops the timers, aborts the refresh under way (through the signal `fetchToken` got), forgets
   * the token and makes pending and later `getToken()` calls reject with an `AbortError`. Idempotent.
   */
  close(): void {
    if (this.#closed !== undefined) return
    const reason = new DOMException('The token cache was closed', 'AbortError')
    this.#closed = reason
    this.#cancelTimer()
    this.#fetchController?.abort(reason)
    // Answer the waiters now rather than when (or if) fetchToken heeds the abort.
    this.#finishInflight?.({ ok: false, error: reason })
    this.#fetchController = undefined
    this.#inflight = undefined
    this.#finishInflight = undefined
    this.#held = undefined
  }

  [Symbol.dispose](): void {
    this.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close()
  }

  /** What `JSON.stringify` shows: the state, never the token. */
  toJSON(): Record<string, unknown> {
    const held = this.#held
    return {
      token: held === undefined ? null : REDACTED,
      expiresAt: held === undefined ? null : new Date(held.times.expiresAt).toISOString(),
      refreshing: this.#inflight !== undefined,
      consecutiveFailures: this.#failures,
      closed: this.#closed !== undefined,
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](
    _depth: number,
    options: unknown,
    inspect?: (value: unknown, options: unknown) => string,
  ): string {
    const state = this.toJSON()
    return `TokenCache ${inspect === undefined ? JSON.stringify(state) : inspect(state, options)}`
  }

  /** The held token if it may still be handed out at `now`; an expired one is forgotten. */
  #usable(now: number): Held | undefined {
    const held = this.#held
    if (held === undefined) return undefined
    if (now < held.times.usableUntil) return held
    this.#held = undefined
    return undefined
  }

  /** Whether a new refresh may start (or one is under way to join): not while backing off. */
  #mayRefresh(now: number): boolean {
    return this.#inflight !== undefined || this.#retryAt === undefined || now >= this.#retryAt
  }

  // Closing needs no listener per waiting caller (they would pile up on a long-lived cache): it is
  // checked on entry, and close() answers the shared refresh itself.
  #wait(outcome: Promise<Outcome>, signal: AbortSignal | undefined): Promise<Outcome> {
    return waitUnlessAborted(outcome, signal)
  }

  /** The refresh under way, or a new one. The promise never rejects: failures are outcomes. */
  #refresh(): Promise<Outcome> {
    if (this.#inflight !== undefined) return this.#inflight
    this.#cancelTimer()
    const controller = new AbortController()
    let finish: (outcome: Outcome) => void = () => {}
    const inflight = new Promise<Outcome>((resolve) => {
      finish = resolve
    })
    // `new Promise` turns a `fetchToken` that throws synchronously into a rejection.
    new Promise<AccessToken>((resolve) => resolve(this.#fetchToken(controller.signal))).then(
      (value) => finish(this.#settle(controller, () => this.#accept(value))),
      (error: unknown) => finish(this.#settle(controller, () => this.#fail(error))),
    )
    this.#fetchController = controller
    this.#inflight = inflight
    this.#finishInflight = finish
    return inflight
  }

  /** Ends the refresh and updates the state in one step, so no caller sees half of it. */
  #settle(controller: AbortController, update: () => Outcome): Outcome {
    if (this.#fetchController !== controller) return { ok: false, error: this.#closed }
    this.#fetchController = undefined
    this.#inflight = undefined
    this.#finishInflight = undefined
    try {
      return update()
    } catch (error) {
      // Only an injected `now` or `random` that throws gets here; waiters must still be answered.
      return { ok: false, error }
    }
  }

  #accept(value: AccessToken): Outcome {
    let token: AccessToken
    try {
      token = sealAccessToken(value)
    } catch (error) {
      return this.#fail(error)
    }
    const receivedAt = this.#now()
    const times = tokenTimes(token.expiresAt, receivedAt, this.#random())
    if (times === undefined) return this.#fail(expiredOnArrival(token.expiresAt, receivedAt))
    this.#held = { token, times }
    this.#failures = 0
    this.#lastError = undefined
    this.#retryAt = undefined
    // Never sooner than MIN_BACKGROUND_REFRESH_MS: a server answering tokens that live a fraction
    // of a second would otherwise have an idle client ask for one many times a second, for ever.
    // A token that is over by then is not refreshed in the background; the next caller asks.
    this.#arm(Math.max(times.refreshAt, receivedAt + MIN_BACKGROUND_REFRESH_MS))
    return { ok: true, token }
  }

  #fail(error: unknown): Outcome {
    const now = this.#now()
    this.#failures += 1
    this.#lastError = error
    this.#retryAt = now + backoffDelay(this.#failures, this.#random())
    // With a token still to protect, retry in the background; without one, the next caller will.
    if (this.#usable(now) !== undefined) this.#arm(this.#retryAt)
    return { ok: false, error }
  }

  /** One timer at a time, for the next background refresh or retry at epoch ms `at`. */
  #arm(at: number): void {
    this.#cancelTimer()
    if (this.#closed !== undefined) return
    this.#timer = setUnrefTimer(this.#timers, () => this.#onTimer(at), at - this.#now())
  }

  #onTimer(at: number): void {
    this.#timer = undefined
    if (this.#closed !== undefined) return
    const now = this.#now()
    // Early: a delay clamped to setTimeout's maximum, or a clock that disagrees with the timer.
    if (now < at) this.#arm(at)
    else if (this.#usable(now) !== undefined && this.#mayRefresh(now)) void this.#refresh()
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return
    this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/** The least time between a token's arrival and its refresh in the background. */
const MIN_BACKGROUND_REFRESH_MS = 5_000

function expiredOnArrival(expiresAt: number, receivedAt: number): CredentialProviderError {
  // Epoch seconds where milliseconds belong is the likely mistake: name it, when the figure is one
  // (seconds stay below 1e11 until the year 5138; milliseconds passed it in 1973).
  const hint =
    expiresAt < 1e11 && expiresAt * 1000 > receivedAt
      ? ': expiresAt looks like epoch seconds, it must be epoch milliseconds'
      : ''
  return new CredentialProviderError(
    `fetchToken resolved with a token that expired ${receivedAt - expiresAt} ms before it arrived${hint}`,
  )
}

function unwrap(outcome: Outcome): AccessToken {
  if (outcome.ok) return outcome.token
  throw outcome.error
}
