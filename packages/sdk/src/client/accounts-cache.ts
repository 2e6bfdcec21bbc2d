import { invalidArgument } from '../http/invalid-argument.js'
import { waitUnlessAborted } from '../token-cache/wait-unless-aborted.js'
import type { AccountSummary } from './account-results.js'

/** Options of the cache `getAccounts()` answers from (`new PamClient({ accountsCache })`). */
export interface AccountsCacheOptions {
  /** How long a listing is served from memory, in seconds (default 300); `0` lists afresh at every call. */
  ttlSeconds?: number | undefined
  /** The current time in epoch ms. Default `Date.now` (tests inject a fake clock). */
  now?: (() => number) | undefined
}

/** Options of one `getAccounts()` call. */
export interface GetAccountsOptions {
  /** Stops this caller waiting (it rejects with the signal's reason); a listing others share goes on. */
  signal?: AbortSignal | undefined
  /** List afresh now, even within the TTL, and keep the result (joins a listing already under way). */
  forceRefresh?: boolean | undefined
}

/** Lists every account, all pages; the signal aborts only when the client closes. */
export type LoadAccounts = (signal: AbortSignal) => Promise<readonly AccountSummary[]>

export const DEFAULT_ACCOUNTS_TTL_SECONDS = 300

/**
 * The account list, kept for a TTL. Single-flight: callers that arrive while a listing is under
 * way share it, so any number of concurrent cold calls cost one request sequence. A failed
 * listing is not kept: the next call lists again. The TTL runs from when the listing started, so
 * nothing is served older than the TTL.
 */
export class AccountsCache {
  readonly #load: LoadAccounts
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #closing = new AbortController()
  #held: { readonly accounts: readonly AccountSummary[]; readonly expiresAt: number } | undefined
  #pending: Promise<readonly AccountSummary[]> | undefined

  constructor(load: LoadAccounts, options: AccountsCacheOptions = {}) {
    const ttlSeconds = options.ttlSeconds ?? DEFAULT_ACCOUNTS_TTL_SECONDS
    if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds < 0)
      throw invalidArgument('accountsCache.ttlSeconds must be a finite number of seconds, 0 or more')
    if (options.now !== undefined && typeof options.now !== 'function')
      throw invalidArgument('accountsCache.now must be a function returning epoch milliseconds')
    this.#load = load
    this.#ttlMs = ttlSeconds * 1000
    this.#now = options.now ?? Date.now
  }

  get(options: GetAccountsOptions = {}): Promise<readonly AccountSummary[]> {
    const { signal } = options
    if (this.#closing.signal.aborted)
      return Promise.reject(new DOMException('The PamClient was closed', 'AbortError'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    // Disabled: every call is its own listing, sharing nothing, cancelled by its own signal too.
    if (this.#ttlMs === 0)
      return this.#load(
        signal === undefined ? this.#closing.signal : AbortSignal.any([signal, this.#closing.signal]),
      )
    const held = this.#held
    if (options.forceRefresh !== true && held !== undefined && this.#now() < held.expiresAt)
      return Promise.resolve(held.accounts)
    return waitUnlessAborted(this.#pending ?? this.#refill(), signal)
  }

  /** Forgets the list and stops a listing under way. */
  close(): void {
    this.#closing.abort(new DOMException('The PamClient was closed', 'AbortError'))
    this.#held = undefined
    this.#pending = undefined
  }

  #refill(): Promise<readonly AccountSummary[]> {
    const startedAt = this.#now()
    const pending: Promise<readonly AccountSummary[]> = this.#load(this.#closing.signal)
      .then((accounts) => {
        if (this.#pending === pending) this.#held = { accounts, expiresAt: startedAt + this.#ttlMs }
        return accounts
      })
      .finally(() => {
        if (this.#pending === pending) this.#pending = undefined
      })
    this.#pending = pending
    return pending
  }
}
