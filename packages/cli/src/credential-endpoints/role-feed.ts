import type { CloudCredentials, CloudVendor, GetCloudCredentialsOptions } from '@strongroom/sdk'
import { formatError } from '../format-error.js'
import { isoSeconds } from '../workload/cloud-credentials-output.js'
import { secretsOf } from './vendors.js'

/** What the endpoints take credentials from: a `PamClient`, or anything with its `getCloudCredentials`. */
export interface CloudCredentialSource {
  getCloudCredentials(roleExternalId: string, options?: GetCloudCredentialsOptions): Promise<CloudCredentials>
}

/** Refresh once less than this is left, as the SDK's cache does (and the server's reuse margin). */
export const REFRESH_WINDOW_MS = 15 * 60_000
/**
 * After a failed fetch the source is not asked again for 1 s, doubling per failure in a row, up to
 * 30 s (as the SDK's cache backs off its background refreshes); a success starts again from 1 s.
 */
export const BACKOFF_BASE_MS = 1_000
export const BACKOFF_MAX_MS = 30_000

export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 30))
}

export interface RoleFeedOptions {
  readonly source: CloudCredentialSource
  readonly arn: string
  readonly vendor: CloudVendor
  readonly durationSeconds?: number | undefined
  readonly now: () => number
  /** One line per failure that differs from the one before, and one on recovery (never a secret). */
  readonly log: (line: string) => void
  /** Called once with each secret value as it arrives, and the credentials' expiry (epoch ms). */
  readonly onSecret: (value: string, expiresAt: number) => void
  /** Values to redact from error messages, as a last line of defence. */
  readonly secrets: () => Iterable<string>
  /**
   * With usable credentials held, how long a request waits for the source before it is answered
   * with them: the consumers time out quickly (AWS's provider after 1 s).
   */
  readonly answerWithinMs: number
}

interface Held {
  readonly value: CloudCredentials
  readonly receivedAt: number
  /** Epoch ms: the credentials' own expiry. */
  readonly expiresAt: number
}

/** What a feed holds, for diagnostics: never a secret. */
export interface RoleFeedState {
  readonly arn: string
  readonly vendor: CloudVendor
  readonly accessKeyId: string | undefined
  readonly expiresAt: number | undefined
  readonly failures: number
}

/**
 * One role's credentials as the endpoint serves them. They come from the source (the SDK's cache:
 * refreshed ahead of expiry), and the feed keeps its own last good copy:
 *
 * - while the source answers, its answer is served;
 * - when it fails (the server is down, STS refuses, the grant was deleted) and the last good copy
 *   has not expired, the copy is served, until the very second it expires — the SDK's cache stops
 *   handing credentials out a minute (or a tenth of their life) before, the consumers themselves
 *   refresh earlier still;
 * - after a failure the source is not asked again for 1 s, doubling to 30 s, whether or not a copy
 *   can be served: meanwhile a request is answered at once, with the copy or with the last failure
 *   (the endpoint's 503, `Retry-After` the time left). A failing server is not asked (nor audits a
 *   refusal, nor calls STS) at every consumer call: the SDK's cache keeps no failure, so with
 *   nothing usable held each call it gets is a request;
 * - one fetch at a time: requests that arrive while one is under way share it.
 *
 * `tick()` (the endpoint calls it every few seconds) refreshes ahead of expiry when no consumer
 * asks — with `forceRefresh`, so that a failure is seen and logged rather than kept inside the
 * SDK's background refresh; it joins a fetch already under way.
 *
 * A failure is logged with the server's code, never a secret, once while it stays the same (its
 * code and message, request ids aside, and what is served meanwhile); a different one is logged
 * with the count of failures in a row, and the recovery with the count too.
 */
export class RoleFeed {
  readonly arn: string
  readonly vendor: CloudVendor
  readonly #options: RoleFeedOptions
  #held: Held | undefined
  #failures = 0
  #retryAt = 0
  #lastFailure: unknown
  /** What the last failure logged said, request ids aside: the same again is not logged. */
  #lastLogged: string | undefined
  #fetching: Promise<CloudCredentials> | undefined

  constructor(options: RoleFeedOptions) {
    this.#options = options
    this.arn = options.arn
    this.vendor = options.vendor
  }

  get state(): RoleFeedState {
    return {
      arn: this.arn,
      vendor: this.vendor,
      accessKeyId: this.#held?.value.accessKeyId,
      expiresAt: this.#held?.expiresAt,
      failures: this.#failures,
    }
  }

  /** How long until the source is asked again after a failure (0: it would be asked now). */
  retryAfterMs(): number {
    return Math.max(0, this.#retryAt - this.#options.now())
  }

  /**
   * Credentials to serve now; rejects with the source's error when there are none — at once, with
   * the last failure, while the feed backs off.
   */
  async current(): Promise<CloudCredentials> {
    const now = this.#options.now()
    const held = this.#usable(now)
    if (now < this.#retryAt && this.#fetching === undefined) {
      if (held !== undefined) return held.value
      throw this.#lastFailure ?? new Error('no credentials held')
    }
    const asked = this.#ask(false)
    const outcome =
      held === undefined ? await settle(asked) : await settleWithin(asked, this.#options.answerWithinMs)
    if (outcome !== undefined && 'value' in outcome) return outcome.value
    const fallback = this.#usable(this.#options.now())
    if (fallback !== undefined) return fallback.value
    throw outcome?.error ?? this.#lastFailure ?? new Error('no credentials held')
  }

  /** Refreshes ahead of expiry (or retries after a failure) when it is time; never rejects. */
  tick(): Promise<unknown> {
    if (this.#fetching !== undefined) return this.#fetching.catch(() => {})
    const now = this.#options.now()
    if (now < this.#retryAt) return Promise.resolve()
    const held = this.#held
    if (held === undefined) return this.#ask(false).catch(() => {})
    if (now >= refreshAt(held)) return this.#ask(true).catch(() => {})
    return Promise.resolve()
  }

  #usable(now: number): Held | undefined {
    const held = this.#held
    return held !== undefined && now < held.expiresAt ? held : undefined
  }

  /** The fetch under way, or a new one. */
  #ask(forceRefresh: boolean): Promise<CloudCredentials> {
    if (this.#fetching !== undefined) return this.#fetching
    const { source, arn, durationSeconds } = this.#options
    let asked: Promise<CloudCredentials>
    try {
      asked = source.getCloudCredentials(arn, {
        ...(durationSeconds === undefined ? {} : { durationSeconds }),
        ...(forceRefresh ? { forceRefresh } : {}),
      })
    } catch (error) {
      asked = Promise.reject(error)
    }
    const fetching = asked.then(
      (value) => {
        this.#fetching = undefined
        try {
          return this.#accept(value)
        } catch (error) {
          this.#failed(error)
          throw error
        }
      },
      (error: unknown) => {
        this.#fetching = undefined
        this.#failed(error)
        throw error
      },
    )
    this.#fetching = fetching
    fetching.catch(() => {})
    return fetching
  }

  #accept(value: CloudCredentials): CloudCredentials {
    if (value.vendor !== this.vendor)
      throw new Error(
        `the server answered ${value.vendor} credentials for ${this.arn}, a role whose ARN is ${this.vendor}'s`,
      )
    // The SDK's cache answered what it holds (its own refresh may be failing): nothing new.
    if (this.#held?.value === value) return value
    const now = this.#options.now()
    const expiresAt = Math.min(value.expiration.getTime(), value.expiresAt * 1000)
    if (!(expiresAt > now))
      throw new Error(
        `the server answered credentials for ${this.arn} that expired at ${isoSeconds(new Date(expiresAt))}: is this host's clock right?`,
      )
    for (const secret of secretsOf(value)) this.#options.onSecret(secret, expiresAt)
    if (this.#held === undefined || expiresAt >= this.#held.expiresAt)
      this.#held = { value, receivedAt: now, expiresAt }
    if (this.#failures > 0)
      this.#options.log(
        `${this.arn}: credentials obtained again after ${this.#failures} failure${this.#failures === 1 ? '' : 's'}`,
      )
    this.#failures = 0
    this.#retryAt = 0
    this.#lastFailure = undefined
    this.#lastLogged = undefined
    return value
  }

  /** Counts a failed fetch (one per fetch, however many requests shared it), backs off, logs if new. */
  #failed(error: unknown): void {
    this.#failures += 1
    this.#lastFailure = error
    const now = this.#options.now()
    this.#retryAt = now + backoffDelay(this.#failures)
    const held = this.#usable(now)
    const what = formatError(error, this.#options.secrets()).replace(/^strongroom: /, '')
    const serving =
      held === undefined
        ? 'no credentials to serve (503 until the server answers)'
        : `serving the held credentials until they expire at ${isoSeconds(new Date(held.expiresAt))}`
    const line = `${this.arn}: cannot obtain credentials: ${what}; ${serving}`
    // The same failure again (a request id aside) says nothing new: the recovery line counts them.
    const gist = line.replace(/\brequest (id )?[\w.:-]+/g, 'request')
    if (gist === this.#lastLogged) return
    this.#lastLogged = gist
    this.#options.log(this.#failures === 1 ? line : `${line} (${this.#failures} failures in a row)`)
  }
}

/** When to refresh held credentials: 15 minutes before they expire, or halfway for shorter ones. */
function refreshAt(held: Held): number {
  const life = held.expiresAt - held.receivedAt
  return life > REFRESH_WINDOW_MS ? held.expiresAt - REFRESH_WINDOW_MS : held.receivedAt + life / 2
}

type Outcome<T> = { value: T } | { error: unknown }

function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
}

/** The promise's outcome, or `undefined` if it takes longer than `ms`. */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Outcome<T> | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([settle(promise), late])
  } finally {
    clearTimeout(timer)
  }
}
