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
/** After a failed refresh the next waits 1 s, doubling per failure, up to 30 s (as the SDK's cache). */
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
  /** One line per failure (never a secret). */
  readonly log: (line: string) => void
  /** Called once with each secret value as it arrives. */
  readonly onSecret: (value: string) => void
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
 * one request in flight, refreshed ahead of expiry), and the feed keeps its own last good copy:
 *
 * - while the source answers, its answer is served;
 * - when it fails (the server is down, STS refuses) and the last good copy has not expired, the copy
 *   is served, until the very second it expires — the SDK's cache stops handing credentials out a
 *   minute (or a tenth of their life) before, the consumers themselves refresh earlier still;
 * - after a failure the source is not asked again on a request for 1 s, doubling to 30 s, as long
 *   as a copy can be served: a failing server is not hammered by every consumer call;
 * - nothing usable: the request waits for the source, and its failure is the endpoint's 503.
 *
 * `tick()` (the endpoint calls it every few seconds) refreshes ahead of expiry when no consumer
 * asks — with `forceRefresh`, so that a failure is seen and logged rather than kept inside the
 * SDK's background refresh; it joins a fetch already under way, so there is still one request.
 * Each failed fetch logs one line with the server's code, never a secret.
 */
export class RoleFeed {
  readonly arn: string
  readonly vendor: CloudVendor
  readonly #options: RoleFeedOptions
  #held: Held | undefined
  #failures = 0
  #retryAt = 0
  #lastLogged: unknown
  #ticking: Promise<unknown> | undefined

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

  /** Credentials to serve now; rejects with the source's error when there are none. */
  async current(): Promise<CloudCredentials> {
    const now = this.#options.now()
    const held = this.#usable(now)
    if (held !== undefined && now < this.#retryAt) return held.value
    const asked = this.#ask(false)
    const outcome =
      held === undefined ? await settle(asked) : await settleWithin(asked, this.#options.answerWithinMs)
    if (outcome !== undefined && 'value' in outcome) return outcome.value
    const fallback = this.#usable(this.#options.now())
    if (fallback !== undefined) return fallback.value
    throw outcome?.error ?? new Error('no credentials held')
  }

  /** Refreshes ahead of expiry (or retries after a failure) when it is time; never rejects. */
  tick(): Promise<unknown> {
    if (this.#ticking !== undefined) return this.#ticking
    const now = this.#options.now()
    if (now < this.#retryAt) return Promise.resolve()
    const held = this.#held
    let asked: Promise<unknown>
    if (held === undefined) asked = this.#ask(false)
    else if (now >= refreshAt(held)) asked = this.#ask(true)
    else return Promise.resolve()
    this.#ticking = asked.catch(() => {}).finally(() => (this.#ticking = undefined))
    return this.#ticking
  }

  #usable(now: number): Held | undefined {
    const held = this.#held
    return held !== undefined && now < held.expiresAt ? held : undefined
  }

  #ask(forceRefresh: boolean): Promise<CloudCredentials> {
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
    const checked = asked.then(
      (value) => this.#accept(value),
      (error: unknown) => {
        this.#failed(error)
        throw error
      },
    )
    checked.catch(() => {})
    return checked
  }

  #accept(value: CloudCredentials): CloudCredentials {
    if (value.vendor !== this.vendor) {
      const error = new Error(
        `the server answered ${value.vendor} credentials for ${this.arn}, a role whose ARN is ${this.vendor}'s`,
      )
      this.#failed(error)
      throw error
    }
    if (this.#held?.value === value) return value
    const now = this.#options.now()
    const expiresAt = Math.min(value.expiration.getTime(), value.expiresAt * 1000)
    for (const secret of secretsOf(value)) this.#options.onSecret(secret)
    if (this.#held === undefined || expiresAt >= this.#held.expiresAt)
      this.#held = { value, receivedAt: now, expiresAt }
    if (this.#failures > 0)
      this.#options.log(
        `${this.arn}: credentials obtained again after ${this.#failures} failure${this.#failures === 1 ? '' : 's'}`,
      )
    this.#failures = 0
    this.#retryAt = 0
    this.#lastLogged = undefined
    return value
  }

  #failed(error: unknown): void {
    // Concurrent requests share one fetch, and so one rejection: one line for it.
    if (error === this.#lastLogged) return
    this.#lastLogged = error
    this.#failures += 1
    const now = this.#options.now()
    this.#retryAt = now + backoffDelay(this.#failures)
    const held = this.#usable(now)
    const what = formatError(error, this.#options.secrets()).replace(/^strongroom: /, '')
    const serving =
      held === undefined
        ? 'no credentials to serve (503 until the server answers)'
        : `serving the held credentials until they expire at ${isoSeconds(new Date(held.expiresAt))}`
    this.#options.log(`${this.arn}: cannot obtain credentials: ${what}; ${serving}`)
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
