import { ServerError } from '../errors.js'
import { invalidArgument } from '../http/invalid-argument.js'
import { waitUnlessAborted } from '../token-cache/wait-unless-aborted.js'
import type { CloudCredentials } from './cloud-credentials.js'

/** Options of the cache `getCloudCredentials()` answers from (`new PamClient({ cloudCredentialsCache })`). */
export interface CloudCredentialsCacheOptions {
  /** The current time in epoch ms. Default `Date.now` (tests inject a fake clock). */
  now?: (() => number) | undefined
}

/** Fetches one role's credentials; the signal aborts only when the client closes. */
export type LoadCloudCredentials = (
  roleExternalId: string,
  durationSeconds: number | undefined,
  signal: AbortSignal,
) => Promise<CloudCredentials>

/** Options of one cached call. */
export interface CloudCredentialsCall {
  durationSeconds?: number | undefined
  /** Stops this caller waiting (it rejects with the signal's reason); a fetch others share goes on. */
  signal?: AbortSignal | undefined
  /** Fetch afresh now, even if the held credentials are fresh (joins a fetch already under way). */
  forceRefresh?: boolean | undefined
}

/**
 * Refresh once less than this is left: the server hands out the same STS credentials until 15
 * minutes before they expire, and the vendors' own libraries (`@alicloud/credentials`' `STALE_TIME`)
 * fetch again inside that window, so a refresh there gets new ones.
 */
export const CLOUD_REFRESH_WINDOW_MS = 15 * 60_000
/** Credentials are no longer handed out this long before they expire (clock skew, time in flight)… */
export const CLOUD_EXPIRY_MARGIN_MAX_MS = 60_000
/** …or this fraction of the life they arrived with, if that is less. */
export const CLOUD_EXPIRY_MARGIN_FRACTION = 0.1
/** After a failed background refresh the next one waits 1 s, doubling per failure… */
export const CLOUD_BACKOFF_BASE_MS = 1_000
/** …up to this. */
export const CLOUD_BACKOFF_MAX_MS = 30_000

/** The moments, in epoch ms, that rule one credential's life in the cache. */
export interface CloudCredentialTimes {
  /** From here on a call starts a background refresh (the held credentials are served meanwhile). */
  readonly refreshAt: number
  /** From here on the credentials are never handed out: callers wait for a fetch. */
  readonly usableUntil: number
}

/**
 * The moments for credentials expiring at `expiresAt`, received at `receivedAt` (epoch ms);
 * `undefined` when they are unusable on arrival. Refresh 15 minutes before they expire; credentials
 * that arrive with 15 minutes or less to live (a 900-second role) are refreshed halfway through
 * what they have, so a short-lived role does not refetch at every call.
 */
export function cloudCredentialTimes(
  expiresAt: number,
  receivedAt: number,
): CloudCredentialTimes | undefined {
  const left = expiresAt - receivedAt
  const usableUntil = expiresAt - Math.min(CLOUD_EXPIRY_MARGIN_MAX_MS, CLOUD_EXPIRY_MARGIN_FRACTION * left)
  if (!(left > 0) || !(usableUntil > receivedAt)) return undefined
  const refreshAt =
    left > CLOUD_REFRESH_WINDOW_MS ? expiresAt - CLOUD_REFRESH_WINDOW_MS : receivedAt + left / 2
  return { refreshAt, usableUntil }
}

/** Between two background refreshes after the `failures`-th consecutive failure: 1 s, 2 s, 4 s … 30 s. */
export function cloudBackoffDelay(failures: number): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30)
  return Math.min(CLOUD_BACKOFF_MAX_MS, CLOUD_BACKOFF_BASE_MS * 2 ** exponent)
}

interface Held {
  readonly value: CloudCredentials
  readonly times: CloudCredentialTimes
}

/** One (role, duration)'s state. */
interface Entry {
  held: Held | undefined
  pending: Promise<CloudCredentials> | undefined
  failures: number
  /** No background refresh before this (epoch ms), after a failed one. */
  retryAt: number | undefined
}

const closedError = () => new DOMException('The PamClient was closed', 'AbortError')

/**
 * STS credentials per (role, duration), refreshed ahead of expiry. Single-flight: however many
 * callers arrive while a fetch is under way, they share it, so 100 concurrent cold calls cost one
 * request. Held credentials are served until a minute before they expire; once less than 15
 * minutes are left, a call starts one background refresh and still gets the held ones. Callers
 * wait only when nothing usable is held. A failure is never kept: with nothing usable held, the
 * next call fetches again; with usable credentials held, background refreshes back off (1 s
 * doubling to 30 s) so a failing server is not asked at every call. No timers: a role nobody asks
 * for is not refreshed.
 */
export class CloudCredentialsCache {
  readonly #load: LoadCloudCredentials
  readonly #now: () => number
  readonly #entries = new Map<string, Entry>()
  readonly #closing = new AbortController()

  constructor(load: LoadCloudCredentials, options: CloudCredentialsCacheOptions = {}) {
    if (options.now !== undefined && typeof options.now !== 'function')
      throw invalidArgument('cloudCredentialsCache.now must be a function returning epoch milliseconds')
    this.#load = load
    const now = options.now ?? Date.now
    this.#now = () => now()
  }

  get(roleExternalId: string, options: CloudCredentialsCall = {}): Promise<CloudCredentials> {
    const { durationSeconds, signal } = options
    if (this.#closing.signal.aborted) return Promise.reject(closedError())
    if (signal?.aborted) return Promise.reject(signal.reason)
    const key = JSON.stringify([roleExternalId, durationSeconds ?? null])
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = { held: undefined, pending: undefined, failures: 0, retryAt: undefined }
      this.#entries.set(key, entry)
    }
    const fetch = (e: Entry) => e.pending ?? this.#refill(e, roleExternalId, durationSeconds)
    if (options.forceRefresh === true) return waitUnlessAborted(fetch(entry), signal)
    const now = this.#now()
    const held = entry.held
    if (held !== undefined && now < held.times.usableUntil) {
      const backingOff = entry.retryAt !== undefined && now < entry.retryAt
      if (now >= held.times.refreshAt && entry.pending === undefined && !backingOff) void fetch(entry)
      return Promise.resolve(held.value)
    }
    entry.held = undefined
    return waitUnlessAborted(fetch(entry), signal)
  }

  /** Forgets every credential and stops the fetches under way. Idempotent. */
  close(): void {
    this.#closing.abort(closedError())
    this.#entries.clear()
  }

  /** What `JSON.stringify` shows: how many roles are held, never a credential. */
  toJSON(): Record<string, unknown> {
    let held = 0
    for (const entry of this.#entries.values()) if (entry.held !== undefined) held += 1
    return { held, closed: this.#closing.signal.aborted }
  }

  #refill(
    entry: Entry,
    roleExternalId: string,
    durationSeconds: number | undefined,
  ): Promise<CloudCredentials> {
    // `new Promise` turns a loader that throws synchronously into a rejection.
    const loaded = new Promise<CloudCredentials>((resolve) =>
      resolve(this.#load(roleExternalId, durationSeconds, this.#closing.signal)),
    )
    const pending: Promise<CloudCredentials> = loaded
      .then((value) => {
        if (this.#closing.signal.aborted) throw closedError()
        const receivedAt = this.#now()
        const expiresAt = Math.min(value.expiration.getTime(), value.expiresAt * 1000)
        const times = cloudCredentialTimes(expiresAt, receivedAt)
        if (times === undefined) throw expiredOnArrival(expiresAt, receivedAt)
        if (entry.pending === pending) {
          entry.held = { value, times }
          entry.failures = 0
          entry.retryAt = undefined
        }
        return value
      })
      .catch((error: unknown) => {
        if (entry.pending === pending) {
          entry.failures += 1
          entry.retryAt = this.#now() + cloudBackoffDelay(entry.failures)
        }
        throw error
      })
      .finally(() => {
        if (entry.pending === pending) entry.pending = undefined
      })
    entry.pending = pending
    // A background refresh has no caller to hand its failure to: it is kept in the entry instead.
    pending.catch(() => {})
    return pending
  }
}

function expiredOnArrival(expiresAt: number, receivedAt: number): ServerError {
  const seconds = Math.round((expiresAt - receivedAt) / 1000)
  return new ServerError(
    `ObtainCloudAccountRoleAccessCredential answered credentials with ${seconds} s left, too few to use: is this host's clock right?`,
  )
}
